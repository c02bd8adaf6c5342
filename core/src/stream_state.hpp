// The state one connection's StreamReader and StreamWriter share: asyncio's StreamReader
// buffer, StreamReaderProtocol and FlowControlMixin in one object, which is the protocol of
// the connection's transport. Reference-counted by the two handles and by every operation
// in progress (a read or drain coroutine holds a reference while it runs).
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

#include "corio/coro.hpp"
#include "corio/detail/parked_waiter.hpp"
#include "corio/streams.hpp"
#include "corio/transport.hpp"

namespace corio::detail {

class ServerState;

class StreamState final : public Protocol {
public:
    StreamState(Transport* transport, std::size_t limit);
    StreamState(const StreamState&) = delete;
    StreamState& operator=(const StreamState&) = delete;

    void ref() noexcept { ++refs_; }
    void unref() noexcept {
        if (--refs_ == 0) delete this;
    }
    // A reference held for the life of one operation.
    class Ref {
    public:
        explicit Ref(StreamState* s) noexcept : s_(s) { s_->ref(); }
        Ref(const Ref& o) noexcept : s_(o.s_) { s_->ref(); }
        // A coroutine moves its parameter into the frame: no count traffic per operation.
        Ref(Ref&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
        Ref& operator=(const Ref&) = delete;
        ~Ref() {
            if (s_) s_->unref();
        }
        StreamState* operator->() const noexcept { return s_; }
        StreamState& operator*() const noexcept { return *s_; }

    private:
        StreamState* s_;
    };

    std::pair<StreamReader, StreamWriter> handles();
    void reader_gone() noexcept;
    void writer_gone() noexcept;
    // A server's connection: counted by the server until the connection is gone.
    void attach_server(ServerState& server) noexcept;
    Transport* transport() const noexcept { return transport_; }

    // --- Protocol (events from the transport) -------------------------------------------
    void data_received(std::string_view data) override;
    bool eof_received() override;
    void connection_lost(std::exception_ptr error) override;
    void pause_writing() override { writing_paused_ = true; }
    void resume_writing() override;

    // --- the reader -----------------------------------------------------------------------
    static Coro<std::string> read(Ref self, std::ptrdiff_t n);
    static Coro<std::string> readuntil(Ref self, std::string separator);
    static Coro<std::string> readline(Ref self);
    static Coro<std::string> readexactly(Ref self, std::ptrdiff_t n);
    bool at_eof() const noexcept { return eof_ && available() == 0; }
    std::size_t limit() const noexcept { return limit_; }
    std::exception_ptr exception() const noexcept { return exception_; }
    void set_exception(std::exception_ptr e);

    // --- the writer -----------------------------------------------------------------------
    void write(std::string_view data);
    static Coro<> drain(Ref self);
    void write_eof();
    bool can_write_eof() const noexcept { return transport_ && transport_->can_write_eof(); }
    void close();
    bool is_closing() const noexcept { return closing_ || lost_ || !transport_ || transport_->is_closing(); }
    static Coro<> wait_closed(Ref self);
    SockAddr peername() const { return peer_; }
    SockAddr sockname() const { return transport_ ? transport_->sockname() : SockAddr{}; }
    void set_write_buffer_limits(std::size_t high, std::size_t low);
    std::size_t write_buffer_size() const noexcept { return transport_ ? transport_->write_buffer_size() : 0; }

    // For the server's close_clients() / abort_clients().
    void close_transport() noexcept;
    void abort_transport() noexcept;
    StreamState* next_client = nullptr;
    StreamState* prev_client = nullptr;

private:
    ~StreamState();
    std::size_t available() const noexcept { return buf_.size() - head_; }
    std::string_view buffered() const noexcept { return std::string_view(buf_).substr(head_); }
    std::string take(std::size_t n);
    void consume(std::size_t n) noexcept;
    void maybe_resume_transport() noexcept;
    void wakeup_waiter() noexcept;
    // co_await WaitForData(state, "read"): parks the reading task (in its own frame, no
    // coroutine of its own) until data, EOF or an exception arrives.
    class WaitForData final : public Park {
    public:
        WaitForData(StreamState& s, const char* function) : Park(s.data_waiter_), s_(s) {
            s.begin_wait_for_data(function);
        }
        void await_resume() {
            Park::await_resume();
            if (s_.exception_) std::rethrow_exception(s_.exception_);
        }

    private:
        StreamState& s_;
    };
    void begin_wait_for_data(const char* function);
    void detach_server() noexcept;
    void release_transport() noexcept;
    [[noreturn]] void throw_lost(const char* function) const;

    Transport* transport_;
    SockAddr peer_;  // kept: asyncio's peername stays readable after the connection is gone
    std::uint32_t refs_ = 0;
    bool has_reader_ = false;
    bool has_writer_ = false;

    // Reader: the unread bytes are buf_[head_, end), so consuming is an index move.
    std::string buf_;
    std::size_t head_ = 0;
    std::size_t limit_;
    bool eof_ = false;
    bool reading_paused_ = false;
    std::exception_ptr exception_;
    WaiterList data_waiter_{"StreamReader"};

    // Writer.
    bool writing_paused_ = false;
    bool closing_ = false;  // close() was called
    bool lost_ = false;     // connection_lost() happened
    std::exception_ptr lost_error_;
    WaiterList drain_waiters_{"StreamWriter"};
    WaiterList closed_waiters_{"StreamWriter"};

    ServerState* server_ = nullptr;
};

}  // namespace corio::detail
