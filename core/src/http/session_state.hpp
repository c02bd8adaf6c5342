// The state behind ClientSession and Response handles (shared: a Response may outlive its
// session, and a request in flight keeps both alive).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "corio/event_loop.hpp"
#include "corio/http/client_session.hpp"
#include "corio/http/engine.hpp"
#include "corio/semaphore.hpp"

namespace corio::http::detail {

class ResponseState {
public:
    int status = 0;
    std::string reason;
    Headers headers;
    std::string url;
    std::string method;
    std::vector<Redirect> history;
    std::unique_ptr<Body> body;           // empty once read or released
    std::optional<std::string> content;   // the body, once read
    std::optional<std::int64_t> deadline; // the total timeout's end, in loop.clock_ns()
    std::chrono::milliseconds total{0};  // the total timeout, for the TimeoutError's message
    EventLoop* loop = nullptr;
    std::shared_ptr<void> session;
    bool reading = false;
    // The connection's places under the session's limits, held until the body is read.
    Semaphore::Permit limit_permit;
    Semaphore::Permit host_permit;

    void release() noexcept;
    ~ResponseState() { release(); }
};

class SessionState {
public:
    SessionState(EventLoop& loop, SessionOptions options);
    ~SessionState() { close_now(); }

    EventLoop& loop;
    SessionOptions options;
    bool closed = false;
    std::optional<Semaphore> limit;
    std::unordered_map<std::string, std::unique_ptr<Semaphore>> per_host;
    std::unique_ptr<Engine> plain;
    std::unique_ptr<Engine> tls;

    Engine& engine_for(const Url& url);
    Semaphore* host_limit(const Url& url);
    void close_now() noexcept;

    static Coro<Response> request(std::shared_ptr<SessionState> self, std::string method, std::string url,
                                  RequestOptions options);
};

}  // namespace corio::http::detail
