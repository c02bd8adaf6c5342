// Plain HTTP/1.1 over corio's own streams: one request at a time per connection, idle
// connections kept per host:port and reused, a response parser of its own (status line,
// headers, Content-Length, chunked, to-EOF), gzip and deflate decoded with zlib. A request
// on a reused connection that the server had closed meanwhile (nothing of the response came)
// is sent again once on a new connection when its method is idempotent: aiohttp's most
// reported failure (ServerDisconnectedError on stale keep-alive connections).
#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <deque>
#include <list>
#include <unordered_map>

#include "corio/errors.hpp"
#include "corio/http/client_session.hpp"
#include "corio/http/engine.hpp"
#include "corio/http/errors.hpp"
#include "corio/os_error.hpp"
#include "corio/streams.hpp"
#include "corio/wait_for.hpp"

namespace corio::http::detail {

namespace {

constexpr std::size_t kHeaderLimit = 64 * 1024;
constexpr std::size_t kIdlePerHost = 64;

struct Connection {
    StreamReader reader;
    StreamWriter writer;
    bool reused = false;
};
// Connections in use, at stable addresses, so that closing the session can end them.
using Active = std::list<Connection>;

bool idempotent(const std::string& m) {
    return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "PUT" || m == "DELETE" || m == "TRACE";
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

// Awaits `aw` for at most `ns` (none: no limit); ServerTimeoutError naming the request.
template <class A>
Coro<corio::detail::await_result_t<A>> within(A aw, std::optional<std::int64_t> ns, std::string what, const char* phase) {
    if (!ns) co_return co_await std::move(aw);
    bool timed_out = false;
    try {
        co_return co_await wait_for(std::move(aw), std::chrono::nanoseconds(*ns));
    } catch (const TimeoutError&) {
        timed_out = true;
    }
    (void)timed_out;
    throw ServerTimeoutError(fmt::format("{}: {} timeout ({:.3f} s)", what, phase, static_cast<double>(*ns) * 1e-9));
}

// zlib for Content-Encoding: gzip and deflate (zlib-wrapped, or raw as some servers send).
std::string inflate_body(const std::string& in, bool gzip, const std::string& what) {
    const char* kind = gzip ? "gzip" : "deflate";
    for (int attempt = 0; attempt < 2; ++attempt) {
        z_stream z{};
        const int window = gzip ? 15 + 32 : (attempt == 0 ? 15 : -15);
        if (inflateInit2(&z, window) != Z_OK) throw ClientPayloadError(what + ": cannot start zlib");
        z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        z.avail_in = static_cast<uInt>(in.size());
        std::string out;
        char buf[64 * 1024];
        int rc = Z_OK;
        while (rc == Z_OK) {
            z.next_out = reinterpret_cast<Bytef*>(buf);
            z.avail_out = sizeof buf;
            rc = inflate(&z, Z_NO_FLUSH);
            if (rc == Z_OK || rc == Z_STREAM_END) out.append(buf, sizeof buf - z.avail_out);
            if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) rc = Z_BUF_ERROR;  // input ended early
        }
        const std::string message = z.msg ? z.msg : "";
        inflateEnd(&z);
        if (rc == Z_STREAM_END) return out;
        if (!gzip && attempt == 0 && rc == Z_DATA_ERROR) continue;  // try raw deflate
        if (rc == Z_BUF_ERROR) throw ClientPayloadError(fmt::format("{}: the {} body is cut short", what, kind));
        throw ClientPayloadError(fmt::format("{}: the {} body is malformed ({})", what, kind, message.empty() ? "zlib" : message));
    }
    throw ClientPayloadError(fmt::format("{}: the {} body is malformed", what, kind));
}

class StreamEngine;

class StreamBody final : public Body {
public:
    enum class Framing { none, length, chunked, to_eof };
    StreamBody(StreamEngine& engine, std::string key, Active::iterator conn, Framing f, std::size_t length, bool keep_alive,
               std::string encoding, std::optional<std::int64_t> sock_read, std::string what)
        : engine_(&engine), key_(std::move(key)), conn_(conn), framing_(f), length_(length), keep_alive_(keep_alive),
          encoding_(std::move(encoding)), sock_read_(sock_read), what_(std::move(what)) {}
    ~StreamBody() override { discard(); }
    Coro<std::string> read_all() override;
    void discard() noexcept override;

private:
    Coro<std::string> read_raw();
    Coro<std::string> read_some(std::size_t n);
    StreamEngine* engine_;
    std::string key_;
    std::optional<Active::iterator> conn_;
    Framing framing_;
    std::size_t length_;
    bool keep_alive_;
    std::string encoding_;
    std::optional<std::int64_t> sock_read_;
    std::string what_;
};

class StreamEngine final : public Engine {
public:
    StreamEngine() = default;
    ~StreamEngine() override { close(); }

    Coro<EngineResponse> send(EngineRequest req) override;
    void close() noexcept override {
        closed_ = true;
        idle_.clear();  // dropping the handles aborts the connections
        // Connections in use: dropping their writers aborts them, so what reads from them
        // sees the end (and reports the session closed).
        for (Connection& c : active_) c.writer = StreamWriter();
    }
    bool closed() const noexcept { return closed_; }

    // A connection whose response was read to its end: idle again, or closed.
    void finished(const std::string& key, Active::iterator it, bool reusable) noexcept {
        if (reusable && !closed_ && it->writer && !it->writer.is_closing()) {
            auto& q = idle_[key];
            if (q.size() >= kIdlePerHost) q.pop_front();
            it->reused = true;
            q.push_back(std::move(*it));
        }
        active_.erase(it);
    }

private:
    // `what` is req.describe(), made once per request (it names the request in every error).
    Coro<EngineResponse> exchange(EngineRequest& req, Active::iterator conn, const std::string& key, const std::string& what);
    Coro<Connection> connect(const EngineRequest& req, const std::string& what);

    bool closed_ = false;
    Active active_;
    std::unordered_map<std::string, std::deque<Connection>> idle_;
};

// Thrown by exchange() when a reused connection turned out dead before any response byte.
struct StaleConnection {};

Coro<Connection> StreamEngine::connect(const EngineRequest& req, const std::string& what) {
    std::string reason;
    try {
        OpenOptions o;
        o.limit = kHeaderLimit;
        auto [reader, writer] = co_await within(open_connection(req.url.host, req.url.port, o), req.connect_ns, what, "connect");
        co_return Connection{std::move(reader), std::move(writer), false};
    } catch (const OSError& e) {
        reason = e.what();
    }
    throw ClientConnectorError(fmt::format("{}: cannot connect to {}: {}", what, req.url.authority(), reason), req.url.host,
                               req.url.port);
}

Coro<EngineResponse> StreamEngine::send(EngineRequest req) {
    const std::string what = req.describe();
    if (closed_) throw ClientConnectionError(what + ": the session is closed");
    const std::string key = req.url.host + ":" + std::to_string(req.url.port);
    // An idle connection the server has closed meanwhile has seen EOF already: skip those.
    auto idle = idle_.find(key);
    while (idle != idle_.end() && !idle->second.empty()) {
        Connection c = std::move(idle->second.back());
        idle->second.pop_back();
        if (c.reader.at_eof() || c.writer.is_closing()) continue;
        active_.push_front(std::move(c));
        bool stale = false;
        try {
            co_return co_await exchange(req, active_.begin(), key, what);
        } catch (const StaleConnection&) {
            stale = true;
        }
        (void)stale;
        // Sent on a connection the server had closed, nothing came back: once more on a new
        // one, if doing it twice cannot do harm.
        if (!idempotent(req.method))
            throw ServerDisconnectedError(what + ": the server closed the kept-alive connection before responding "
                                                 "(not retried: the method is not idempotent)");
        break;
    }
    Connection fresh = co_await connect(req, what);
    if (closed_) throw ClientConnectionError(what + ": the session was closed");
    active_.push_front(std::move(fresh));
    co_return co_await exchange(req, active_.begin(), key, what);
}

Coro<EngineResponse> StreamEngine::exchange(EngineRequest& req, Active::iterator it, const std::string& key,
                                            const std::string& what) {
    const bool reused = it->reused;
    // Whatever goes wrong before the body is handed on ends this connection.
    struct Drop {
        StreamEngine* engine;
        std::optional<Active::iterator> it;
        ~Drop() {
            if (it) engine->finished("", *it, false);
        }
    } drop{this, it};

    std::string head = fmt::format("{} {} HTTP/1.1\r\n", req.method, req.url.target);
    for (const auto& [name, value] : req.headers) {
        head += name;
        head += ": ";
        head += value;
        head += "\r\n";
    }
    head += "\r\n";
    it->writer.write(head);
    if (!req.body.empty()) it->writer.write(req.body);

    // The status line and headers, or why not.
    std::string raw;
    enum class Failure { none, stale, disconnected, closed, overrun, broken } failure = Failure::none;
    std::string detail;
    try {
        co_await it->writer.drain();
        raw = co_await within(it->reader.readuntil("\r\n\r\n"), req.sock_read_ns, what, "sock_read");
    } catch (const IncompleteReadError& e) {
        failure = (reused && e.partial().empty()) ? Failure::stale : Failure::disconnected;
        detail = e.partial().empty() ? "before responding" : "in the middle of the headers";
    } catch (const LimitOverrunError&) {
        failure = Failure::overrun;
    } catch (const OSError& e) {
        failure = reused ? Failure::stale : Failure::broken;
        detail = e.what();
    } catch (const InvalidStateError&) {
        failure = Failure::closed;  // the session dropped the writer
    }
    if (failure != Failure::none && closed_) failure = Failure::closed;
    switch (failure) {
        case Failure::none:
            break;
        case Failure::stale:
            throw StaleConnection{};
        case Failure::closed:
            throw ClientConnectionError(what + ": the session was closed");
        case Failure::disconnected:
            throw ServerDisconnectedError(fmt::format("{}: the server closed the connection {}", what, detail));
        case Failure::overrun:
            throw ClientResponseError(fmt::format("{}: the response headers are longer than {} bytes", what, kHeaderLimit),
                                      400, "Got more than 65536 bytes when reading headers");
        case Failure::broken:
            throw ServerDisconnectedError(fmt::format("{}: {}", what, detail));
    }

    // Status line: HTTP/1.x NNN reason
    std::string_view text(raw);
    const auto eol = text.find("\r\n");
    const std::string_view status_line = text.substr(0, eol);
    if (status_line.substr(0, 7) != "HTTP/1." || status_line.size() < 12 || status_line[8] != ' ')
        throw ClientResponseError(fmt::format("{}: not an HTTP/1.x status line: '{}'", what, status_line.substr(0, 64)), 400,
                                  "Invalid status line");
    const bool http10 = status_line[7] == '0';
    int status = 0;
    const char* sb = status_line.data() + 9;
    auto [p, ec] = std::from_chars(sb, sb + 3, status);
    if (ec != std::errc() || p != sb + 3 || status < 100 || (status_line.size() > 12 && status_line[12] != ' '))
        throw ClientResponseError(fmt::format("{}: a status code that is not three digits: '{}'", what, status_line.substr(0, 64)),
                                  400, "Invalid status code");
    EngineResponse r;
    r.status = status;
    r.reason = std::string(trim(status_line.size() > 13 ? status_line.substr(13) : std::string_view()));

    std::size_t pos = eol + 2;
    while (pos < text.size()) {
        const auto e = text.find("\r\n", pos);
        const std::string_view line = text.substr(pos, e - pos);
        pos = e == std::string_view::npos ? text.size() : e + 2;
        if (line.empty()) break;
        const auto colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0)
            throw ClientResponseError(fmt::format("{}: a malformed header line: '{}'", what, line.substr(0, 64)), 400,
                                      "Invalid header");
        r.headers.add(std::string(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
    }

    // How the body is framed (RFC 9112, section 6.3).
    StreamBody::Framing framing = StreamBody::Framing::to_eof;
    std::size_t length = 0;
    const std::string te = lower(r.headers.get("Transfer-Encoding").value_or(""));
    const auto cl = r.headers.get("Content-Length");
    if (req.method == "HEAD" || status / 100 == 1 || status == 204 || status == 304) {
        framing = StreamBody::Framing::none;
    } else if (te.find("chunked") != std::string::npos) {
        framing = StreamBody::Framing::chunked;
    } else if (cl) {
        const std::string_view v = trim(*cl);
        auto [q, err] = std::from_chars(v.data(), v.data() + v.size(), length);
        if (err != std::errc() || q != v.data() + v.size() || v.empty())
            throw ClientResponseError(fmt::format("{}: a Content-Length that is not a number: '{}'", what, v.substr(0, 32)),
                                      400, "Invalid Content-Length");
        framing = length == 0 ? StreamBody::Framing::none : StreamBody::Framing::length;
    }
    const std::string connection = lower(r.headers.get("Connection").value_or(""));
    bool keep_alive = http10 ? connection.find("keep-alive") != std::string::npos : connection.find("close") == std::string::npos;
    if (framing == StreamBody::Framing::to_eof) keep_alive = false;

    const std::string encoding(trim(lower(r.headers.get("Content-Encoding").value_or(""))));
    drop.it.reset();  // the body owns the connection now
    r.body = std::make_unique<StreamBody>(*this, key, it, framing, length, keep_alive, encoding, req.sock_read_ns, what);
    co_return r;
}

Coro<std::string> StreamBody::read_some(std::size_t n) {
    co_return co_await within((*conn_)->reader.read(static_cast<std::ptrdiff_t>(n)), sock_read_, what_, "sock_read");
}

Coro<std::string> StreamBody::read_raw() {
    StreamReader& reader = (*conn_)->reader;
    std::string out;
    switch (framing_) {
        case Framing::none:
            break;
        case Framing::length:
            out.reserve(length_);
            while (out.size() < length_) {
                std::string part = co_await read_some(std::min<std::size_t>(length_ - out.size(), 256 * 1024));
                if (part.empty())
                    throw ClientPayloadError(fmt::format("{}: the body is cut short ({} of {} bytes)", what_, out.size(), length_));
                out += part;
            }
            break;
        case Framing::chunked:
            for (;;) {
                const std::string size_line = co_await within(reader.readuntil("\r\n"), sock_read_, what_, "sock_read");
                std::string_view sv = trim(std::string_view(size_line).substr(0, size_line.size() - 2));
                sv = trim(sv.substr(0, sv.find(';')));  // chunk extensions
                std::size_t size = 0;
                auto [q, err] = std::from_chars(sv.data(), sv.data() + sv.size(), size, 16);
                if (err != std::errc() || q != sv.data() + sv.size() || sv.empty())
                    throw ClientPayloadError(fmt::format("{}: a malformed chunk size: '{}'", what_, sv.substr(0, 32)));
                if (size == 0) {
                    for (;;) {  // trailers, up to the empty line
                        const std::string t = co_await within(reader.readuntil("\r\n"), sock_read_, what_, "sock_read");
                        if (t == "\r\n") break;
                    }
                    break;
                }
                const std::size_t start = out.size();
                while (out.size() - start < size) {
                    std::string part = co_await read_some(size - (out.size() - start));
                    if (part.empty()) throw ClientPayloadError(fmt::format("{}: the body is cut short in a chunk", what_));
                    out += part;
                }
                const std::string crlf = co_await within(reader.readexactly(2), sock_read_, what_, "sock_read");
                if (crlf != "\r\n") throw ClientPayloadError(fmt::format("{}: a chunk without its CRLF", what_));
            }
            break;
        case Framing::to_eof:
            for (;;) {
                std::string part = co_await read_some(256 * 1024);
                if (part.empty()) break;
                out += part;
            }
            break;
    }
    co_return out;
}

Coro<std::string> StreamBody::read_all() {
    if (!conn_) throw ClientConnectionError(what_ + ": the body was released");
    std::string raw;
    std::string failure;
    try {
        raw = co_await read_raw();
    } catch (const ClientError&) {
        discard();
        throw;
    } catch (const IncompleteReadError& e) {
        failure = fmt::format("the body is cut short ({} bytes in the last part)", e.partial().size());
    } catch (const LimitOverrunError&) {
        failure = "a chunk header longer than the limit";
    } catch (const OSError& e) {
        failure = fmt::format("the connection broke in the middle of the body: {}", e.what());
    } catch (const InvalidStateError&) {
        failure = "the session was closed";
    }
    if (!failure.empty()) {
        const bool closed = engine_->closed();
        discard();
        if (closed) throw ClientConnectionError(what_ + ": the session was closed");
        throw ClientPayloadError(what_ + ": " + failure);
    }
    engine_->finished(key_, *std::exchange(conn_, std::nullopt), keep_alive_);
    if (encoding_ == "gzip" || encoding_ == "x-gzip") co_return inflate_body(raw, true, what_);
    if (encoding_ == "deflate") co_return inflate_body(raw, false, what_);
    co_return raw;
}

void StreamBody::discard() noexcept {
    if (auto it = std::exchange(conn_, std::nullopt)) engine_->finished(key_, *it, false);
}

}  // namespace

std::unique_ptr<Engine> make_stream_engine(const SessionOptions&) { return std::make_unique<StreamEngine>(); }

}  // namespace corio::http::detail
