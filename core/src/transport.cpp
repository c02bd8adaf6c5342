// What every transport shares: the write buffer's water marks, which tell the protocol to
// pause and resume writing (asyncio's _FlowControlMixin of transports).
#include "corio/transport.hpp"

#include <fmt/format.h>

#include "corio/errors.hpp"

namespace corio {

std::string format_address(const SockAddr& addr) {
    if (addr.host.find(':') != std::string::npos) return fmt::format("[{}]:{}", addr.host, addr.port);
    return fmt::format("{}:{}", addr.host, addr.port);
}

void Transport::set_write_buffer_limits(std::size_t high, std::size_t low) {
    if (low > high)
        throw ValueError(fmt::format("set_write_buffer_limits(): high ({}) must be >= low ({})", high, low));
    high_ = high;
    low_ = low;
    check_water_marks();
}

void Transport::buffer_grew(std::size_t n) {
    buffered_ += n;
    check_water_marks();
}

void Transport::buffer_shrank(std::size_t n) {
    buffered_ -= n;
    check_water_marks();
}

void Transport::check_water_marks() {
    if (!protocol_) return;
    if (!writing_paused_ && buffered_ > high_) {
        writing_paused_ = true;
        protocol_->pause_writing();
    } else if (writing_paused_ && buffered_ <= low_) {
        writing_paused_ = false;
        protocol_->resume_writing();
    }
}

}  // namespace corio
