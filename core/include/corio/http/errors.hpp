// aiohttp's client errors. Every message names the request (method and URL) and the cause:
// "GET http://127.0.0.1:9/: cannot connect to 127.0.0.1:9: Connection refused".
#pragma once

#include <stdexcept>
#include <string>

namespace corio::http {

class ClientError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The connection failed or was lost.
class ClientConnectionError : public ClientError {
public:
    using ClientError::ClientError;
};

// Connecting failed: refused, a name that does not resolve, TLS verification.
class ClientConnectorError : public ClientConnectionError {
public:
    ClientConnectorError(const std::string& message, std::string host, int port)
        : ClientConnectionError(message), host_(std::move(host)), port_(port) {}
    const std::string& host() const noexcept { return host_; }
    int port() const noexcept { return port_; }

private:
    std::string host_;
    int port_;
};

// The server closed the connection before a complete status line.
class ServerDisconnectedError : public ClientConnectionError {
public:
    using ClientConnectionError::ClientConnectionError;
};

// The connect or sock_read timeout passed.
class ServerTimeoutError : public ClientConnectionError {
public:
    using ClientConnectionError::ClientConnectionError;
};

// A response with a status that says no (raise_for_status), or a redirect loop.
class ClientResponseError : public ClientError {
public:
    ClientResponseError(const std::string& what, int status, std::string message)
        : ClientError(what), status_(status), message_(std::move(message)) {}
    int status() const noexcept { return status_; }
    // The reason phrase ("Not Found"), or what went wrong.
    const std::string& message() const noexcept { return message_; }

private:
    int status_;
    std::string message_;
};

// json() of a response whose Content-Type is not JSON.
class ContentTypeError : public ClientResponseError {
public:
    using ClientResponseError::ClientResponseError;
};

class TooManyRedirects : public ClientResponseError {
public:
    using ClientResponseError::ClientResponseError;
};

// The body was cut short, reset mid-way, or malformed (chunks, gzip, JSON).
class ClientPayloadError : public ClientError {
public:
    using ClientError::ClientError;
};

// A malformed URL, a scheme other than http/https, or a redirect to one, before any I/O.
class InvalidURL : public ClientError {
public:
    using ClientError::ClientError;
};

}  // namespace corio::http
