// The OSError family of asyncio, for sockets and name lookups: OSError is a
// std::system_error whose code() is the errno value (std::generic_category()) and whose
// what() names the operation, the address and the OS's reason ("connect to 127.0.0.1:9:
// Connection refused"). make_os_error picks the subclass asyncio would raise for an errno.
#pragma once

#include <exception>
#include <string>
#include <system_error>

namespace corio {

class OSError : public std::system_error {
public:
    // `what` is the operation and its address ("connect to 127.0.0.1:9"); the OS's text for
    // `err` follows it.
    OSError(int err, const std::string& what) : OSError(std::error_code(err, std::generic_category()), what) {}
    // A message of corio's own, used as it is (no OS text appended).
    struct AsIs {};
    OSError(int err, std::string message, AsIs)
        : std::system_error(std::error_code(err, std::generic_category())), message_(std::move(message)) {}
    const char* what() const noexcept override { return message_.c_str(); }

protected:
    OSError(std::error_code code, const std::string& what)
        : std::system_error(code), message_(what + ": " + code.message()) {}

private:
    std::string message_;
};

class ConnectionError : public OSError {
public:
    using OSError::OSError;
};
class ConnectionRefusedError : public ConnectionError {
public:
    using ConnectionError::ConnectionError;
};
class ConnectionResetError : public ConnectionError {
public:
    using ConnectionError::ConnectionError;
};
class BrokenPipeError : public ConnectionError {
public:
    using ConnectionError::ConnectionError;
};
class ConnectionAbortedError : public ConnectionError {
public:
    using ConnectionError::ConnectionError;
};

// The category of getaddrinfo's EAI_* codes (message: gai_strerror's text).
const std::error_category& gai_category() noexcept;

// A name that does not resolve (asyncio's socket.gaierror). code() is the EAI_* value in
// gai_category(); gai_code() gives it too.
class GaiError : public OSError {
public:
    GaiError(int eai_code, const std::string& what) : OSError(std::error_code(eai_code, gai_category()), what) {}
    int gai_code() const noexcept { return code().value(); }
};

// The OSError subclass asyncio raises for `err` (ECONNREFUSED: ConnectionRefusedError,
// ECONNRESET: ConnectionResetError, EPIPE: BrokenPipeError, ECONNABORTED:
// ConnectionAbortedError, else OSError), as an exception_ptr.
std::exception_ptr make_os_error(int err, const std::string& what);
// The same, thrown.
[[noreturn]] void throw_os_error(int err, const std::string& what);

}  // namespace corio
