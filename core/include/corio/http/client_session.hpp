// ClientSession: aiohttp's, the seed's last idiom.
//   corio::http::ClientSession session;
//   corio::http::Response response = co_await session.get(url);
//   nlohmann::json data = co_await response.json();
// Connections are kept alive and reused; `limit` (and `limit_per_host`) bound them, waited
// for before a request takes one, so a queued request's connect timeout does not run while
// it waits. Redirects are followed by the session itself (history, 303 -> GET, Authorization
// dropped across origins). Plain http goes over corio's own streams; https over libcurl
// natively; everything over fetch() in wasm.
#pragma once

#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "corio/coro.hpp"
#include "corio/http/errors.hpp"
#include "corio/http/headers.hpp"
#include "corio/http/response.hpp"

namespace corio::http {

namespace detail {
class SessionState;
}

// aiohttp's ClientTimeout. total: the whole request, body included (corio::TimeoutError);
// connect: establishing a connection (not the wait for a free one); sock_read: the longest
// wait for the next bytes (both ServerTimeoutError). Empty: no limit.
struct ClientTimeout {
    ClientTimeout() noexcept {}
    std::optional<std::chrono::milliseconds> total = std::chrono::seconds(300);
    std::optional<std::chrono::milliseconds> connect;
    std::optional<std::chrono::milliseconds> sock_read;
};

// Options of a session (filled as a named variable: see corio::OpenOptions).
struct SessionOptions {
    SessionOptions() noexcept {}
    std::string base_url;          // a request URL starting with "/" is joined to it
    Headers headers;               // sent with every request (a request's own replace them)
    ClientTimeout timeout;
    std::size_t limit = 100;       // connections at once (0: no limit)
    std::size_t limit_per_host = 0;
    bool raise_for_status = false;
    // https: the CA bundle (PEM file) to verify servers with, instead of the system's; and
    // whether to verify at all.
    std::string ca_file;
    bool verify_ssl = true;
};

// Options of one request.
struct RequestOptions {
    RequestOptions() noexcept {}
    std::vector<std::pair<std::string, std::string>> params;  // the query, encoded, in order
    Headers headers;
    std::optional<nlohmann::json> json;  // sent as application/json
    std::optional<std::string> data;     // raw bytes, application/octet-stream by default
    std::optional<ClientTimeout> timeout;
    bool allow_redirects = true;
    int max_redirects = 10;  // TooManyRedirects when the number of redirects reaches it
    std::optional<bool> raise_for_status;
};

class ClientSession {
public:
    // A session on the running loop (RuntimeError when none runs).
    ClientSession();
    explicit ClientSession(SessionOptions options);
    ClientSession(ClientSession&& o) noexcept;
    ClientSession& operator=(ClientSession&& o) noexcept;
    ClientSession(const ClientSession&) = delete;
    ClientSession& operator=(const ClientSession&) = delete;
    // Closes: requests still in flight fail with ClientConnectionError.
    ~ClientSession();

    Coro<Response> request(std::string method, std::string url);
    Coro<Response> request(std::string method, std::string url, RequestOptions options);
    Coro<Response> get(std::string url);
    Coro<Response> get(std::string url, RequestOptions options);
    Coro<Response> post(std::string url);
    Coro<Response> post(std::string url, RequestOptions options);
    Coro<Response> put(std::string url);
    Coro<Response> put(std::string url, RequestOptions options);
    Coro<Response> patch(std::string url);
    Coro<Response> patch(std::string url, RequestOptions options);
    Coro<Response> delete_(std::string url);
    Coro<Response> delete_(std::string url, RequestOptions options);
    Coro<Response> head(std::string url);
    Coro<Response> head(std::string url, RequestOptions options);
    Coro<Response> options(std::string url);
    Coro<Response> options(std::string url, RequestOptions options);

    // Closes every connection; later requests raise RuntimeError("Session is closed").
    Coro<> close();
    bool closed() const noexcept;

    // async with ClientSession() as session: (aexit closes).
    Coro<> aenter() { co_return; }
    Coro<> aexit(std::exception_ptr);

private:
    std::shared_ptr<detail::SessionState> s_;
};

}  // namespace corio::http
