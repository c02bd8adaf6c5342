// What moves an HTTP request over the wire: an Engine per session and transport kind. The
// session (core) does URLs, redirects, limits and timeouts; an engine sends one request and
// returns the status line, the headers and a body source. Engines: plain HTTP/1.1 on corio's
// own streams (core), libcurl for https (backends/uv), fetch() in wasm (backends/browser). A
// backend offers its engines by deriving from HttpBackend.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "corio/coro.hpp"
#include "corio/http/headers.hpp"
#include "corio/http/url.hpp"

namespace corio::http {

struct SessionOptions;

namespace detail {

struct EngineRequest {
    std::string method;
    Url url;
    Headers headers;  // complete: Host, Content-Length, Accept-Encoding are set by the session
    std::string body;
    std::optional<std::int64_t> connect_ns;    // establishing a connection
    std::optional<std::int64_t> sock_read_ns;  // the longest wait for the next bytes
    bool reused_retry = false;                 // set by an engine that retries on a stale connection
    std::string describe() const;              // "GET http://host/path"
};

// The body of one response, read once.
class Body {
public:
    virtual ~Body() = default;
    // The whole body, decoded (Content-Encoding). ClientPayloadError, ServerTimeoutError.
    virtual Coro<std::string> read_all() = 0;
    // The response is dropped unread: close the connection (it is not reused).
    virtual void discard() noexcept = 0;
};

struct EngineResponse {
    int status = 0;
    std::string reason;
    Headers headers;
    std::unique_ptr<Body> body;
    // Where the response came from, when the engine followed redirects itself (a page's
    // fetch() does); empty: the request's URL.
    std::string final_url;
};

class Engine {
public:
    virtual ~Engine() = default;
    // Sends `req` and returns once the status line and headers are in. Errors are
    // corio::http's (ClientConnectorError, ServerDisconnectedError, ...), their messages
    // naming the request.
    virtual Coro<EngineResponse> send(EngineRequest req) = 0;
    // Closes every connection; requests in flight fail with ClientConnectionError.
    virtual void close() noexcept = 0;
};

// A backend's HTTP engines (found on the running loop's backend, as Network is).
class HttpBackend {
public:
    // An engine for `scheme` ("http", "https"), or nullptr if the backend has none for it.
    virtual std::unique_ptr<Engine> make_http_engine(const std::string& scheme, const SessionOptions& options) = 0;

protected:
    ~HttpBackend() = default;
};

// HTTP/1.1 over corio's own streams (open_connection), with a keep-alive pool: what a
// backend with sockets answers for plain http (core/src/http/stream_engine.cpp, built where
// zlib is: natively).
std::unique_ptr<Engine> make_stream_engine(const SessionOptions& options);

}  // namespace detail
}  // namespace corio::http
