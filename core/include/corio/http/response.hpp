// Response: what ClientSession's requests give once the status line and headers are in; the
// body is read with read() / text() / json(). Move-only. Reading the whole body returns the
// connection for reuse; a response dropped before that closes it instead.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "corio/coro.hpp"
#include "corio/http/headers.hpp"

namespace corio::http {

namespace detail {
class ResponseState;
}

// One redirect that led to the final response.
struct Redirect {
    int status = 0;
    std::string url;  // the URL that answered with the redirect
    Headers headers;
};

class Response {
public:
    Response() noexcept;
    Response(Response&&) noexcept;
    Response& operator=(Response&&) noexcept;
    Response(const Response&) = delete;
    Response& operator=(const Response&) = delete;
    ~Response();
    explicit operator bool() const noexcept { return s_ != nullptr; }

    int status() const;
    const std::string& reason() const;
    bool ok() const { return status() < 400; }
    const Headers& headers() const;
    // The URL of this response (after redirects).
    const std::string& url() const;
    const std::string& method() const;
    const std::vector<Redirect>& history() const;

    // The body (decoded: gzip, deflate). Read once from the connection; later calls give it again.
    // ClientPayloadError if it is cut short or malformed; ServerTimeoutError (sock_read),
    // corio::TimeoutError (total).
    Coro<std::string> read();
    Coro<std::string> text();
    // ContentTypeError unless the content type is JSON; ClientPayloadError if it does not parse.
    Coro<nlohmann::json> json();
    // ClientResponseError for a status >= 400.
    void raise_for_status() const;
    // Gives the connection back now (closed, unless the body was read to its end).
    void release() noexcept;

    explicit Response(std::shared_ptr<detail::ResponseState> s) noexcept;

private:
    detail::ResponseState& state() const;
    std::shared_ptr<detail::ResponseState> s_;
};

}  // namespace corio::http
