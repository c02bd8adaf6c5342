// ClientSession and Response: aiohttp's request flow (client.py, 3.8): the URL (base_url,
// params), the headers (session defaults replaced by the request's, ignoring case), the
// body (json or data, not both), the limits taken before a connection is, the total
// timeout over the whole request (body included), redirects followed here (history; 303,
// and 301/302 after POST, become GET; Authorization dropped across origins;
// max_redirects), raise_for_status.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <string_view>

#include "corio/detail/timeout_scope.hpp"
#include "corio/errors.hpp"
#include "corio/wait_for.hpp"
#include "session_state.hpp"

namespace corio::http {

namespace detail {

std::string EngineRequest::describe() const { return method + " " + url.to_string(); }

void ResponseState::release() noexcept {
    if (body) {
        body->discard();
        body.reset();
    }
    limit_permit.release();
    host_permit.release();
}

SessionState::SessionState(EventLoop& l, SessionOptions o) : loop(l), options(std::move(o)) {
    if (options.limit > 0) limit.emplace(static_cast<std::ptrdiff_t>(options.limit));
    if (!options.base_url.empty()) (void)Url::parse(options.base_url);  // InvalidURL now, not at the first request
}

Engine& SessionState::engine_for(const Url& url) {
    const bool https = url.scheme == "https";
    std::unique_ptr<Engine>& slot = https ? tls : plain;
    if (!slot) {
        if (auto* backend = dynamic_cast<HttpBackend*>(&loop.backend())) slot = backend->make_http_engine(url.scheme, options);
        if (!slot)
            throw ClientConnectorError(fmt::format("{}: {} is not available on the {} backend", url.to_string(), url.scheme,
                                                   loop.backend().name()),
                                       url.host, url.port);
    }
    return *slot;
}

Semaphore* SessionState::host_limit(const Url& url) {
    if (options.limit_per_host == 0) return nullptr;
    auto& s = per_host[url.origin()];
    if (!s) s = std::make_unique<Semaphore>(static_cast<std::ptrdiff_t>(options.limit_per_host));
    return s.get();
}

void SessionState::close_now() noexcept {
    closed = true;
    if (plain) plain->close();
    if (tls) tls->close();
}

namespace {

std::string seconds_text(std::chrono::milliseconds ms) {
    if (ms.count() % 1000 == 0) return fmt::format("{} s", ms.count() / 1000);
    return fmt::format("{:.3f} s", static_cast<double>(ms.count()) / 1000.0);
}

// Runs `aw` under what is left of the total timeout; TimeoutError naming the request.
template <class A>
Coro<corio::detail::await_result_t<A>> under_deadline(A aw, std::optional<std::int64_t> deadline, EventLoop& loop,
                                               const std::string& what, std::chrono::milliseconds total) {
    if (!deadline) co_return co_await std::move(aw);
    const std::int64_t left = *deadline - corio::detail::core(loop).clock_ns();
    std::exception_ptr timed_out;
    try {
        co_return co_await wait_for(std::move(aw), std::chrono::nanoseconds(std::max<std::int64_t>(left, 0)));
    } catch (const TimeoutError&) {
        timed_out = std::current_exception();
    }
    throw TimeoutError(fmt::format("{}: the total timeout of {} passed", what, seconds_text(total)));
}

bool is_redirect(int status) { return status == 301 || status == 302 || status == 303 || status == 307 || status == 308; }

}  // namespace

Coro<Response> SessionState::request(std::shared_ptr<SessionState> self, std::string method, std::string url_text,
                                     RequestOptions ro) {
    SessionState& s = *self;
    if (s.closed) throw RuntimeError("Session is closed");
    for (char& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (ro.json && ro.data) throw ValueError(fmt::format("{} {}: give json or data, not both", method, url_text));

    Url url = !url_text.empty() && url_text[0] == '/' && !s.options.base_url.empty()
                  ? Url::parse(s.options.base_url).resolve(url_text)
                  : Url::parse(url_text);
    if (!ro.params.empty()) url.target += (url.target.find('?') == std::string::npos ? "?" : "&") + encode_params(ro.params);

    Headers headers = s.options.headers;
    for (const auto& [name, value] : ro.headers) headers.erase(name);
    for (const auto& [name, value] : ro.headers) headers.add(name, value);
    std::string body;
    if (ro.json) {
        body = ro.json->dump();
        if (!headers.contains("Content-Type")) headers.add("Content-Type", "application/json");
    } else if (ro.data) {
        body = std::move(*ro.data);
        if (!headers.contains("Content-Type")) headers.add("Content-Type", "application/octet-stream");
    }

    const ClientTimeout timeout = ro.timeout ? *ro.timeout : s.options.timeout;
    std::optional<std::int64_t> deadline;
    const std::chrono::milliseconds total = timeout.total.value_or(std::chrono::milliseconds(0));
    if (timeout.total) {
        deadline = corio::detail::deadline_after(corio::detail::core(s.loop).clock_ns(),
                                                 std::chrono::nanoseconds(*timeout.total).count());
    }
    const bool raise = ro.raise_for_status.value_or(s.options.raise_for_status);

    std::vector<Redirect> history;
    for (;;) {
        // The limits first: a request waiting for a free connection has not begun to connect.
        // "GET http://host/path": names this request in every message (made once per hop).
        const std::string what = method + " " + url.to_string();
        Semaphore::Permit limit_permit, host_permit;
        if (s.limit) limit_permit = co_await under_deadline(s.limit->acquire(), deadline, s.loop, what, total);
        if (Semaphore* h = s.host_limit(url))
            host_permit = co_await under_deadline(h->acquire(), deadline, s.loop, what, total);
        if (s.closed) throw RuntimeError("Session is closed");

        EngineRequest req;
        req.method = method;
        req.url = url;
        req.headers = headers;
        if (!req.headers.contains("Host")) req.headers.add("Host", url.authority());
        if (!req.headers.contains("Accept")) req.headers.add("Accept", "*/*");
        if (!req.headers.contains("Accept-Encoding")) req.headers.add("Accept-Encoding", "gzip, deflate");
        if (!req.headers.contains("User-Agent")) req.headers.add("User-Agent", "corio-http/0.1");
        if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH")
            req.headers.set("Content-Length", std::to_string(body.size()));
        req.body = body;
        if (timeout.connect) req.connect_ns = std::chrono::nanoseconds(*timeout.connect).count();
        if (timeout.sock_read) req.sock_read_ns = std::chrono::nanoseconds(*timeout.sock_read).count();

        Engine& engine = s.engine_for(url);
        EngineResponse r = co_await under_deadline(engine.send(std::move(req)), deadline, s.loop, what, total);
        if (!r.final_url.empty()) url = Url::parse(r.final_url);  // the engine followed redirects

        const std::optional<std::string> location = r.headers.get("Location");
        if (ro.allow_redirects && is_redirect(r.status) && location) {
            history.push_back(Redirect{r.status, url.to_string(), r.headers});
            if (r.body) r.body->discard();  // a redirect's body is not read
            if (ro.max_redirects > 0 && static_cast<int>(history.size()) >= ro.max_redirects)
                throw TooManyRedirects(fmt::format("{}: {} redirects, the most allowed (max_redirects)", what, history.size()),
                                       r.status, r.reason);
            Url next;
            try {
                next = url.resolve(*location);
            } catch (const InvalidURL& e) {
                throw InvalidURL(fmt::format("{}: a redirect to '{}': {}", what, *location, e.what()));
            }
            if ((r.status == 303 && method != "HEAD") || ((r.status == 301 || r.status == 302) && method == "POST")) {
                method = "GET";
                body.clear();
                headers.erase("Content-Type");
            }
            if (next.origin() != url.origin()) headers.erase("Authorization");
            url = std::move(next);
            continue;
        }

        auto state = std::make_shared<ResponseState>();
        state->status = r.status;
        state->reason = std::move(r.reason);
        state->headers = std::move(r.headers);
        state->url = url.to_string();
        state->method = method;
        state->history = std::move(history);
        state->body = std::move(r.body);
        state->deadline = deadline;
        state->total = total;
        state->loop = &s.loop;
        state->session = self;  // the engine that owns the connection lives as long as the body
        state->limit_permit = std::move(limit_permit);
        state->host_permit = std::move(host_permit);
        Response response(std::move(state));
        if (raise) response.raise_for_status();
        co_return response;
    }
}

}  // namespace detail

// --- Response ---------------------------------------------------------------------------------

Response::Response() noexcept = default;
Response::Response(std::shared_ptr<detail::ResponseState> s) noexcept : s_(std::move(s)) {}
Response::Response(Response&&) noexcept = default;
Response& Response::operator=(Response&&) noexcept = default;
Response::~Response() = default;

detail::ResponseState& Response::state() const {
    if (!s_) throw InvalidStateError("Response: this handle is empty (default-constructed or moved from)");
    return *s_;
}
int Response::status() const { return state().status; }
const std::string& Response::reason() const { return state().reason; }
const Headers& Response::headers() const { return state().headers; }
const std::string& Response::url() const { return state().url; }
const std::string& Response::method() const { return state().method; }
const std::vector<Redirect>& Response::history() const { return state().history; }
void Response::release() noexcept {
    if (s_) s_->release();
}

void Response::raise_for_status() const {
    const detail::ResponseState& st = state();
    if (st.status < 400) return;
    throw ClientResponseError(fmt::format("{}, message='{}', url='{}'", st.status, st.reason, st.url), st.status, st.reason);
}

namespace {
Coro<std::string> read_body(std::shared_ptr<detail::ResponseState> s) {
    if (s->content) co_return *s->content;
    if (s->reading) throw RuntimeError("Response::read(): another task is reading this body");
    if (!s->body) throw ClientConnectionError(fmt::format("{} {}: the response was released before its body was read", s->method, s->url));
    s->reading = true;
    std::exception_ptr error;
    std::string data;
    try {
        const std::string what = s->method + " " + s->url;
        data = co_await detail::under_deadline(s->body->read_all(), s->deadline, *s->loop, what, s->total);
    } catch (...) {
        error = std::current_exception();
    }
    s->reading = false;
    if (error) {
        s->release();  // not reusable
        std::rethrow_exception(error);
    }
    s->body.reset();  // read to its end: the engine took the connection back
    s->limit_permit.release();
    s->host_permit.release();
    s->content = data;
    co_return data;
}
}  // namespace

Coro<std::string> Response::read() { return read_body(s_ ? s_ : throw InvalidStateError("Response: this handle is empty")); }
Coro<std::string> Response::text() { return read(); }

namespace {
// aiohttp's test, `^application/(?:[\w.+-]+?\+)?json` ignoring case, without std::regex (whose
// matcher cost tens of µs per response in wasm).
bool is_json_type(std::string_view type) {
    std::string t(type);
    for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    constexpr std::string_view prefix = "application/";
    if (t.compare(0, prefix.size(), prefix) != 0) return false;
    const std::string_view rest = std::string_view(t).substr(prefix.size());
    if (rest.substr(0, 4) == "json") return true;
    for (std::size_t i = 0; i < rest.size(); ++i) {
        if (i > 0 && rest.substr(i, 5) == "+json") return true;
        const unsigned char c = static_cast<unsigned char>(rest[i]);
        if (!(std::isalnum(c) || c == '_' || c == '.' || c == '+' || c == '-')) return false;
    }
    return false;
}
}  // namespace

Coro<nlohmann::json> Response::json() {
    std::shared_ptr<detail::ResponseState> s = s_;
    if (!s) throw InvalidStateError("Response: this handle is empty");
    // aiohttp's check: application/json, or application/<something>+json.
    const std::string type = s->headers.get("Content-Type").value_or("");
    if (!is_json_type(type))
        throw ContentTypeError(fmt::format("{} {}: Attempt to decode JSON with unexpected mimetype: {}", s->method, s->url,
                                           type.empty() ? "(none)" : type),
                               s->status, "Attempt to decode JSON with unexpected mimetype: " + type);
    const std::string text = co_await read_body(s);
    try {
        co_return nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw ClientPayloadError(fmt::format("{} {}: the body is not valid JSON: {}", s->method, s->url, e.what()));
    }
}

// --- ClientSession ------------------------------------------------------------------------------

ClientSession::ClientSession() : ClientSession(SessionOptions()) {}
ClientSession::ClientSession(SessionOptions options)
    : s_(std::make_shared<detail::SessionState>(get_running_loop(), std::move(options))) {}
ClientSession::ClientSession(ClientSession&& o) noexcept = default;
ClientSession& ClientSession::operator=(ClientSession&& o) noexcept {
    if (this != &o) {
        if (s_) s_->close_now();
        s_ = std::move(o.s_);
    }
    return *this;
}
ClientSession::~ClientSession() {
    if (s_) s_->close_now();
}

bool ClientSession::closed() const noexcept { return !s_ || s_->closed; }

Coro<> ClientSession::close() {
    if (s_) s_->close_now();
    co_return;
}

Coro<> ClientSession::aexit(std::exception_ptr) {
    if (s_) s_->close_now();
    co_return;
}

namespace {
std::shared_ptr<detail::SessionState> live(const std::shared_ptr<detail::SessionState>& s) {
    if (!s) throw InvalidStateError("ClientSession: this handle is empty (moved from)");
    return s;
}
}  // namespace

Coro<Response> ClientSession::request(std::string method, std::string url) {
    return request(std::move(method), std::move(url), RequestOptions());
}
Coro<Response> ClientSession::request(std::string method, std::string url, RequestOptions options) {
    return detail::SessionState::request(live(s_), std::move(method), std::move(url), std::move(options));
}
Coro<Response> ClientSession::get(std::string url) { return request("GET", std::move(url)); }
Coro<Response> ClientSession::get(std::string url, RequestOptions o) { return request("GET", std::move(url), std::move(o)); }
Coro<Response> ClientSession::post(std::string url) { return request("POST", std::move(url)); }
Coro<Response> ClientSession::post(std::string url, RequestOptions o) { return request("POST", std::move(url), std::move(o)); }
Coro<Response> ClientSession::put(std::string url) { return request("PUT", std::move(url)); }
Coro<Response> ClientSession::put(std::string url, RequestOptions o) { return request("PUT", std::move(url), std::move(o)); }
Coro<Response> ClientSession::patch(std::string url) { return request("PATCH", std::move(url)); }
Coro<Response> ClientSession::patch(std::string url, RequestOptions o) { return request("PATCH", std::move(url), std::move(o)); }
Coro<Response> ClientSession::delete_(std::string url) { return request("DELETE", std::move(url)); }
Coro<Response> ClientSession::delete_(std::string url, RequestOptions o) { return request("DELETE", std::move(url), std::move(o)); }
Coro<Response> ClientSession::head(std::string url) { return request("HEAD", std::move(url)); }
Coro<Response> ClientSession::head(std::string url, RequestOptions o) { return request("HEAD", std::move(url), std::move(o)); }
Coro<Response> ClientSession::options(std::string url) { return request("OPTIONS", std::move(url)); }
Coro<Response> ClientSession::options(std::string url, RequestOptions o) { return request("OPTIONS", std::move(url), std::move(o)); }

}  // namespace corio::http
