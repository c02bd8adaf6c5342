// https (and whatever else corio's own streams do not speak) on libcurl's multi interface,
// driven by the libuv loop as curl's docs/examples/multi-uv.c drives it: a uv_poll per curl
// socket, one uv_timer for curl's timeout. The traps of that pairing (DESIGN.md) are avoided
// by construction:
// - curl is never called from inside its own callbacks: they only arm uv handles, and the
//   uv callbacks call curl;
// - curl may close a socket before it says REMOVE, and libuv aborts on a polled fd that was
//   closed: corio opens and closes curl's sockets itself (OPENSOCKET/CLOSESOCKETFUNCTION)
//   and stops the poll before the close;
// - a poll error goes to curl as CURL_CSELECT_ERR;
// - curl follows no redirect (the session does, to keep aiohttp's rules and the history);
// - a 0 ms timeout runs on the next loop turn, not after 1 ms (which capped one request
//   stream at ~1k requests/s).
#include <curl/curl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "corio/http/client_session.hpp"
#include "corio/http/engine.hpp"
#include "corio/http/errors.hpp"
#include "corio/waker.hpp"
#include "libuv_backend.hpp"

namespace corio::backends::uv {

namespace {

using http::detail::Body;
using http::detail::EngineRequest;
using http::detail::EngineResponse;

void global_init() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

class CurlEngine;

// One transfer: an easy handle from the engine's free list, what came back, and who waits.
struct Transfer {
    CurlEngine* engine = nullptr;
    CURL* easy = nullptr;
    curl_slist* headers = nullptr;
    std::string what;
    std::string url_host;
    int url_port = 0;
    std::string body_out;  // the request body (curl reads it from here)
    // The response as it comes.
    int status = 0;
    std::string reason;
    http::Headers response_headers;
    bool headers_done = false;
    std::string body;
    bool finished = false;
    CURLcode result = CURLE_OK;
    char error[CURL_ERROR_SIZE] = {};
    // Who waits: first for the headers, then for the end.
    Waker<EngineResponse> head_waker;
    Waker<> body_waker;
    bool body_owned = false;  // a CurlBody holds this transfer
    // sock_read: the longest wait for the next bytes.
    std::optional<std::int64_t> sock_read_ns;
    uv_timer_t* read_timer = nullptr;
    bool read_timed_out = false;
};

class CurlBody final : public Body {
public:
    explicit CurlBody(Transfer* t) noexcept : t_(t) {}
    ~CurlBody() override { discard(); }
    Coro<std::string> read_all() override;
    void discard() noexcept override;

private:
    Transfer* t_;
};

class CurlEngine final : public http::detail::Engine, public UvResource {
public:
    CurlEngine(LibuvBackend& backend, const http::SessionOptions& options)
        : backend_(backend), ca_file_(options.ca_file), verify_(options.verify_ssl) {
        global_init();
        multi_ = curl_multi_init();
        curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlEngine::on_socket);
        curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
        curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlEngine::on_timer);
        curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
        // Room in curl's connection cache for every connection the session may keep: its
        // default follows the number of easy handles added at the moment, which drops as
        // requests finish, and then closes kept-alive connections (a TLS handshake each).
        curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, static_cast<long>(std::max<std::size_t>(options.limit, 100)));
        timer_ = new uv_timer_t;
        uv_timer_init(backend.uv(), timer_);
        timer_->data = this;
        backend.add_resource(*this);
    }
    ~CurlEngine() override {
        close();
        backend_.remove_resource(*this);
        shutdown();
    }

    Coro<EngineResponse> send(EngineRequest req) override;
    void close() noexcept override {
        closed_ = true;
        // Every transfer in flight fails: copy first, finishing one edits the set.
        std::vector<Transfer*> live(live_.begin(), live_.end());
        for (Transfer* t : live) fail(t, CURLE_ABORTED_BY_CALLBACK, "the session was closed");
    }
    void shutdown() noexcept override {
        if (!multi_) return;
        *alive_ = false;  // a next-turn callback still queued does nothing
        close();
        for (CURL* e : free_) curl_easy_cleanup(e);
        free_.clear();
        curl_multi_cleanup(multi_);
        multi_ = nullptr;
        for (auto& [fd, poll] : polls_) close_poll(poll);
        polls_.clear();
        uv_close(reinterpret_cast<uv_handle_t*>(timer_), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
        timer_ = nullptr;
    }

    // The transfer's handle comes out of the multi and back to the free list.
    void finish(Transfer* t) noexcept;
    void fail(Transfer* t, CURLcode code, const char* why) noexcept;
    void rearm_read_timer(Transfer* t) noexcept;

private:
    struct Poll {
        uv_poll_t* handle;
    };

    CURL* take_easy() {
        if (!free_.empty()) {
            CURL* e = free_.back();
            free_.pop_back();
            curl_easy_reset(e);
            return e;
        }
        return curl_easy_init();
    }

    // curl's socket callback: arm, change or stop the uv_poll of `s` (never call curl here).
    static int on_socket(CURL*, curl_socket_t s, int action, void* userp, void*) {
        auto* self = static_cast<CurlEngine*>(userp);
        if (action == CURL_POLL_REMOVE) {
            auto it = self->polls_.find(s);
            if (it != self->polls_.end()) uv_poll_stop(it->second.handle);
            return 0;
        }
        auto it = self->polls_.find(s);
        if (it == self->polls_.end()) {
            auto* h = new uv_poll_t;
            if (uv_poll_init_socket(self->backend_.uv(), h, s) != 0) {
                delete h;
                return -1;
            }
            h->data = self;
            it = self->polls_.emplace(s, Poll{h}).first;
        }
        int events = 0;
        if (action != CURL_POLL_IN) events |= UV_WRITABLE;
        if (action != CURL_POLL_OUT) events |= UV_READABLE;
        uv_poll_start(it->second.handle, events, [](uv_poll_t* h, int status, int ev) {
            auto* self = static_cast<CurlEngine*>(h->data);
            int flags = 0;
            if (status < 0) {
                flags = CURL_CSELECT_ERR;
            } else {
                if (ev & UV_READABLE) flags |= CURL_CSELECT_IN;
                if (ev & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
            }
            curl_socket_t fd = -1;
            uv_fileno(reinterpret_cast<uv_handle_t*>(h), &fd);
            self->socket_action(fd, flags);
        });
        return 0;
    }

    // curl's timer callback: arm (or stop) the one uv_timer; 0 ms means the next loop turn.
    static int on_timer(CURLM*, long timeout_ms, void* userp) {
        auto* self = static_cast<CurlEngine*>(userp);
        if (timeout_ms < 0) {
            uv_timer_stop(self->timer_);
        } else if (timeout_ms == 0) {
            uv_timer_stop(self->timer_);
            if (!self->soon_armed_) {
                self->soon_armed_ = true;
                // A callback of corio's loop: after what is ready now, before it waits again.
                (void)self->backend_.loop().call_soon([self, alive = self->alive_] {
                    if (!*alive) return;
                    self->soon_armed_ = false;
                    self->socket_action(CURL_SOCKET_TIMEOUT, 0);
                });
            }
        } else {
            uv_timer_start(
                self->timer_, [](uv_timer_t* t) { static_cast<CurlEngine*>(t->data)->socket_action(CURL_SOCKET_TIMEOUT, 0); },
                static_cast<std::uint64_t>(timeout_ms), 0);
        }
        return 0;
    }

    static curl_socket_t on_open_socket(void*, curlsocktype, curl_sockaddr* address) {
        return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
    }
    static int on_close_socket(void* clientp, curl_socket_t s) {
        auto* self = static_cast<CurlEngine*>(clientp);
        auto it = self->polls_.find(s);
        if (it != self->polls_.end()) {
            close_poll(it->second);  // stopped and closing before the fd goes
            self->polls_.erase(it);
        }
        return ::close(s);
    }
    static void close_poll(Poll& p) {
        uv_poll_stop(p.handle);
        uv_close(reinterpret_cast<uv_handle_t*>(p.handle), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    }

    static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* userp);
    static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* userp);

    void socket_action(curl_socket_t fd, int flags) {
        if (!multi_) return;
        int running = 0;
        curl_multi_socket_action(multi_, fd, flags, &running);
        check_done();
    }
    void check_done();

    friend class CurlBody;
    LibuvBackend& backend_;
    std::string ca_file_;
    bool verify_;
    CURLM* multi_ = nullptr;
    uv_timer_t* timer_ = nullptr;
    bool soon_armed_ = false;
    bool closed_ = false;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    std::unordered_map<curl_socket_t, Poll> polls_;
    std::vector<CURL*> free_;
    std::vector<Transfer*> live_;
};

std::size_t CurlEngine::on_header(char* data, std::size_t size, std::size_t n, void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    std::string_view line(data, size * n);
    if (line.size() >= 2 && line.substr(line.size() - 2) == "\r\n") line.remove_suffix(2);
    if (line.substr(0, 5) == "HTTP/") {
        // A status line (again after a 1xx): a new header block starts.
        t->response_headers.clear();
        const auto sp = line.find(' ');
        t->status = sp == std::string_view::npos ? 0 : std::atoi(std::string(line.substr(sp + 1, 3)).c_str());
        t->reason = sp == std::string_view::npos || line.size() <= sp + 5 ? std::string() : std::string(line.substr(sp + 5));
    } else if (line.empty()) {
        if (t->status >= 200 && !t->headers_done) {
            t->headers_done = true;
            EngineResponse r;
            r.status = t->status;
            r.reason = t->reason;
            r.headers = t->response_headers;
            r.body = std::make_unique<CurlBody>(t);
            t->body_owned = true;
            t->head_waker.set_result(std::move(r));
        }
    } else {
        const auto colon = line.find(':');
        if (colon != std::string_view::npos) {
            std::string_view v = line.substr(colon + 1);
            while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
            t->response_headers.add(std::string(line.substr(0, colon)), std::string(v));
        }
    }
    t->engine->rearm_read_timer(t);
    return size * n;
}

std::size_t CurlEngine::on_body(char* data, std::size_t size, std::size_t n, void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    t->body.append(data, size * n);
    t->engine->rearm_read_timer(t);
    return size * n;
}

void CurlEngine::rearm_read_timer(Transfer* t) noexcept {
    if (!t->sock_read_ns || t->finished) return;
    if (!t->read_timer) {
        t->read_timer = new uv_timer_t;
        uv_timer_init(backend_.uv(), t->read_timer);
        t->read_timer->data = t;
    }
    const auto ms = static_cast<std::uint64_t>((*t->sock_read_ns + 999'999) / 1'000'000);
    uv_timer_start(
        t->read_timer,
        [](uv_timer_t* h) {
            auto* tr = static_cast<Transfer*>(h->data);
            tr->read_timed_out = true;
            tr->engine->fail(tr, CURLE_OPERATION_TIMEDOUT, "sock_read timeout");
        },
        ms, 0);
}

void CurlEngine::check_done() {
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
        if (m->msg != CURLMSG_DONE) continue;
        Transfer* t = nullptr;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &t);
        if (!t) continue;
        t->result = m->data.result;
        finish(t);
    }
}

// The messages of aiohttp's errors, with curl's reason.
std::exception_ptr transfer_error(const Transfer& t) {
    const std::string why = t.error[0] ? t.error : curl_easy_strerror(t.result);
    const std::string where = t.url_host + ":" + std::to_string(t.url_port);
    if (t.read_timed_out) return std::make_exception_ptr(http::ServerTimeoutError(t.what + ": sock_read timeout"));
    switch (t.result) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_CONNECT:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
            return std::make_exception_ptr(
                http::ClientConnectorError(fmt::format("{}: cannot connect to {}: {}", t.what, where, why), t.url_host, t.url_port));
        case CURLE_OPERATION_TIMEDOUT:
            return std::make_exception_ptr(http::ServerTimeoutError(fmt::format("{}: connect timeout: {}", t.what, why)));
        case CURLE_GOT_NOTHING:
            return std::make_exception_ptr(
                http::ServerDisconnectedError(fmt::format("{}: the server closed the connection before responding", t.what)));
        case CURLE_ABORTED_BY_CALLBACK:
            return std::make_exception_ptr(http::ClientConnectionError(fmt::format("{}: {}", t.what, why)));
        default:
            if (t.headers_done)
                return std::make_exception_ptr(http::ClientPayloadError(fmt::format("{}: the body broke off: {}", t.what, why)));
            return std::make_exception_ptr(http::ClientConnectionError(fmt::format("{}: {}", t.what, why)));
    }
}

void CurlEngine::finish(Transfer* t) noexcept {
    if (t->finished) return;
    t->finished = true;
    live_.erase(std::remove(live_.begin(), live_.end(), t), live_.end());
    if (t->read_timer) {
        uv_close(reinterpret_cast<uv_handle_t*>(t->read_timer), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
        t->read_timer = nullptr;
    }
    if (multi_ && t->easy) {
        curl_multi_remove_handle(multi_, t->easy);
        // A handle whose transfer went wrong may hold a broken connection: not reused.
        if (t->result == CURLE_OK)
            free_.push_back(t->easy);
        else
            curl_easy_cleanup(t->easy);
    } else if (t->easy) {
        curl_easy_cleanup(t->easy);
    }
    t->easy = nullptr;
    if (t->headers) curl_slist_free_all(t->headers);
    t->headers = nullptr;
    if (!t->headers_done) {
        if (t->result == CURLE_OK) {
            t->head_waker.set_exception(std::make_exception_ptr(
                http::ServerDisconnectedError(t->what + ": the transfer ended without a response")));
        } else {
            t->head_waker.set_exception(transfer_error(*t));
        }
    }
    t->body_waker.wake();
    if (!t->body_owned && t->head_waker.done()) delete t;
}

void CurlEngine::fail(Transfer* t, CURLcode code, const char* why) noexcept {
    if (t->finished) return;
    t->result = code;
    if (!t->error[0]) std::snprintf(t->error, sizeof t->error, "%s", why);
    finish(t);
}

Coro<EngineResponse> CurlEngine::send(EngineRequest req) {
    const std::string what = req.describe();
    if (closed_ || !multi_) throw http::ClientConnectionError(what + ": the session is closed");
    auto* t = new Transfer;
    t->engine = this;
    t->what = what;
    t->url_host = req.url.host;
    t->url_port = req.url.port;
    t->sock_read_ns = req.sock_read_ns;
    t->easy = take_easy();
    CURL* e = t->easy;
    const std::string url = req.url.to_string();
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &CurlEngine::on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &CurlEngine::on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &CurlEngine::on_open_socket);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, &CurlEngine::on_close_socket);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, this);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, verify_ ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, verify_ ? 2L : 0L);
    if (!ca_file_.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, ca_file_.c_str());
    if (req.connect_ns) curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>((*req.connect_ns + 999'999) / 1'000'000));
    if (req.method == "HEAD")
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    else if (req.method != "GET")
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    if (!req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
        t->body_out = std::move(req.body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body_out.data());
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t->body_out.size()));
        if (req.method == "POST") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, nullptr);
    }
    // curl decodes what it asked for; the session's own Accept-Encoding would make it pass
    // the encoded bytes through.
    if (auto ae = req.headers.get("Accept-Encoding")) {
        curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, ae->c_str());
        req.headers.erase("Accept-Encoding");
    }
    req.headers.erase("Content-Length");  // curl writes it from POSTFIELDSIZE
    for (const auto& [name, value] : req.headers) t->headers = curl_slist_append(t->headers, (name + ": " + value).c_str());
    t->headers = curl_slist_append(t->headers, "Expect:");  // no 100-continue round trip
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);

    EngineResponse r = co_await suspend<EngineResponse>(
        [&](Waker<EngineResponse> w) {
            t->head_waker = std::move(w);
            live_.push_back(t);
            if (curl_multi_add_handle(multi_, e) != CURLM_OK) fail(t, CURLE_FAILED_INIT, "curl_multi_add_handle failed");
        },
        [&] { fail(t, CURLE_ABORTED_BY_CALLBACK, "cancelled"); });
    co_return r;
}

Coro<std::string> CurlBody::read_all() {
    Transfer* t = t_;
    if (!t) throw http::ClientConnectionError("the body was released");
    if (!t->finished) {
        co_await suspend([&](Waker<> w) { t->body_waker = std::move(w); },
                         [&] { t->engine->fail(t, CURLE_ABORTED_BY_CALLBACK, "cancelled"); });
    }
    if (t->result != CURLE_OK) std::rethrow_exception(transfer_error(*t));
    std::string body = std::move(t->body);
    co_return body;
}

void CurlBody::discard() noexcept {
    if (Transfer* t = std::exchange(t_, nullptr)) {
        t->body_owned = false;
        if (!t->finished)
            t->engine->fail(t, CURLE_ABORTED_BY_CALLBACK, "the response was released");  // deletes t
        else
            delete t;
    }
}

}  // namespace

std::unique_ptr<http::detail::Engine> make_curl_engine(LibuvBackend& backend, const http::SessionOptions& options) {
    return std::make_unique<CurlEngine>(backend, options);
}

}  // namespace corio::backends::uv
