// The OSError family: which subclass an errno gets, and getaddrinfo's error category.
#include "corio/os_error.hpp"

#include <netdb.h>

#include <cerrno>

namespace corio {

namespace {
class GaiCategory final : public std::error_category {
public:
    const char* name() const noexcept override { return "getaddrinfo"; }
    std::string message(int code) const override { return ::gai_strerror(code); }
};
}  // namespace

const std::error_category& gai_category() noexcept {
    static const GaiCategory category;
    return category;
}

std::exception_ptr make_os_error(int err, const std::string& what) {
    switch (err) {
        case ECONNREFUSED:
            return std::make_exception_ptr(ConnectionRefusedError(err, what));
        case ECONNRESET:
            return std::make_exception_ptr(ConnectionResetError(err, what));
        case EPIPE:
        case ESHUTDOWN:
            return std::make_exception_ptr(BrokenPipeError(err, what));
        case ECONNABORTED:
            return std::make_exception_ptr(ConnectionAbortedError(err, what));
        default:
            return std::make_exception_ptr(OSError(err, what));
    }
}

void throw_os_error(int err, const std::string& what) { std::rethrow_exception(make_os_error(err, what)); }

}  // namespace corio
