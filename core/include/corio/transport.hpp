// asyncio's transport/protocol split, which the streams sit on: a Transport moves bytes
// (TCP in backends/uv, memory in core for memory_stream_pair) and a Protocol receives what
// happens to them. Write flow control (pause/resume_writing at the water marks) is the
// transport's, shared by every transport through TransportBase.
#pragma once

#include <cstddef>
#include <exception>
#include <string>
#include <string_view>

namespace corio {

// A socket address: a numeric host ("127.0.0.1", "::1") and a port.
struct SockAddr {
    std::string host;
    int port = 0;
    bool operator==(const SockAddr&) const = default;
};

// "127.0.0.1:80", "[::1]:80".
std::string format_address(const SockAddr& addr);

class Protocol {
public:
    virtual void data_received(std::string_view data) = 0;
    // The peer sent EOF. True keeps the transport open for writing (a half-close).
    virtual bool eof_received() = 0;
    // The connection is gone: `error` is empty after a clean close, else why.
    virtual void connection_lost(std::exception_ptr error) = 0;
    // The write buffer went above the high-water mark / back below the low one.
    virtual void pause_writing() = 0;
    virtual void resume_writing() = 0;

protected:
    ~Protocol() = default;
};

class Transport {
public:
    Transport(const Transport&) = delete;
    Transport& operator=(const Transport&) = delete;

    // The protocol starts receiving events (and the transport starts reading). Once.
    virtual void start(Protocol& protocol) = 0;
    // Queues `data` to be sent; never blocks. Dropped once the transport is closing.
    virtual void write(std::string_view data) = 0;
    // Sends EOF once the queued bytes are out; reading goes on.
    virtual void write_eof() = 0;
    virtual bool can_write_eof() const noexcept { return true; }
    virtual void pause_reading() = 0;
    virtual void resume_reading() = 0;
    virtual bool is_reading() const noexcept = 0;
    // Closes once the queued bytes are out; connection_lost(empty) follows.
    virtual void close() = 0;
    // Closes now, dropping the queued bytes; connection_lost(empty) follows.
    virtual void abort() = 0;
    virtual bool is_closing() const noexcept = 0;
    virtual SockAddr peername() const { return {}; }
    virtual SockAddr sockname() const { return {}; }
    // The owner (a stream) is done with the transport: it gets no more events, aborts if
    // it is still open, and frees itself as soon as its platform allows.
    virtual void release() noexcept = 0;

    std::size_t write_buffer_size() const noexcept { return buffered_; }
    // asyncio's defaults: high 64 KiB, low 16 KiB. low > high is a ValueError.
    void set_write_buffer_limits(std::size_t high, std::size_t low);
    std::size_t high_water() const noexcept { return high_; }
    std::size_t low_water() const noexcept { return low_; }

protected:
    Transport() = default;
    virtual ~Transport() = default;

    // For implementations: the bytes queued but not yet sent went up or down.
    void buffer_grew(std::size_t n);
    void buffer_shrank(std::size_t n);
    // What events go to (null until start(), and after release()).
    Protocol* protocol_ = nullptr;

private:
    void check_water_marks();
    std::size_t buffered_ = 0;
    std::size_t high_ = 64 * 1024;
    std::size_t low_ = 16 * 1024;
    bool writing_paused_ = false;
};

}  // namespace corio
