// memory_stream_pair(): two transports joined in memory, with TCP's observable behaviour for
// the streams on top: a reading peer gets the bytes at once (its task runs later, as after
// a TCP read), a reader that stops reading (above twice its limit) stops the flow, so the
// writer's buffer grows past its high-water mark and drain() waits; close() delivers what is
// buffered and then EOF, in a later loop iteration; writing to an end that has closed resets
// the connection. Each transport is the loop callback that delivers what it buffered, so a
// write allocates nothing beyond the bytes.
#include <fmt/format.h>

#include <cerrno>
#include <string>
#include <utility>

#include "corio/event_loop.hpp"
#include "corio/handle.hpp"
#include "corio/os_error.hpp"
#include "corio/streams.hpp"

namespace corio {

namespace {

class MemoryTransport final : public Transport, public detail::Callback {
public:
    MemoryTransport(EventLoop& loop, int index) : Callback(loop), index_(index) {}
    ~MemoryTransport() override {
        if (peer_) peer_->peer_ = nullptr;
    }
    static void join(MemoryTransport& a, MemoryTransport& b) noexcept {
        a.peer_ = &b;
        b.peer_ = &a;
    }

    void start(Protocol& protocol) override {
        protocol_ = &protocol;
        started_ = true;
        if (peer_) peer_->schedule();  // bytes written before we started
    }

    void write(std::string_view data) override {
        if (closing_ || lost_) return;
        if (!peer_ || peer_->closing_ || peer_->closed_) {
            // The other end has closed: a TCP peer would answer with a reset. is_closing() is
            // true from here on, so a drain() right after lets the loop deliver the reset.
            reset_ = true;
            schedule();
            return;
        }
        // A peer that reads gets the bytes at once, as a TCP peer's kernel does (the reader
        // still runs in its own, later step); one that does not (paused above its limit, or
        // not started) leaves them in our buffer, which is what makes drain() wait.
        if (out_.empty() && !eof_queued_ && peer_->accepts_data() && peer_->protocol_) {
            peer_->protocol_->data_received(data);
            return;
        }
        out_.append(data);
        buffer_grew(data.size());
        schedule();
    }
    void write_eof() override {
        if (closing_ || lost_ || eof_queued_) return;
        eof_queued_ = true;
        schedule();
    }
    void pause_reading() override { reading_ = false; }
    void resume_reading() override {
        if (reading_) return;
        reading_ = true;
        if (peer_) peer_->schedule();
    }
    bool is_reading() const noexcept override { return reading_ && !closing_ && !lost_; }
    void close() override {
        if (closing_ || lost_) return;
        closing_ = true;
        eof_queued_ = true;
        schedule();
    }
    void abort() override {
        if (lost_) return;
        buffer_shrank(out_.size());
        out_.clear();
        closing_ = true;
        eof_queued_ = true;
        schedule();
    }
    bool is_closing() const noexcept override { return closing_ || lost_ || reset_; }
    SockAddr peername() const override { return SockAddr{"memory", 1 - index_}; }
    SockAddr sockname() const override { return SockAddr{"memory", index_}; }
    void release() noexcept override {
        protocol_ = nullptr;
        if (!closing_ && !lost_) abort();
        unref();  // the owner's reference; a delivery still queued holds its own
    }

    // The loop runs this (as a Callback) to deliver what was written.
    void invoke() override {
        scheduled_ = false;
        deliver();
    }

private:
    void schedule() {
        if (scheduled_) return;
        scheduled_ = true;
        ref();  // the ready queue's
        detail::core(loop()).schedule_callback(this);
    }

    bool accepts_data() const noexcept { return started_ && reading_ && !closing_ && !closed_ && !lost_; }

    void deliver() {
        MemoryTransport* peer = peer_;
        if (!out_.empty() && peer && peer->started_) {
            if (peer->closing_ || peer->closed_) {
                // The peer no longer reads: what we sent is gone, as into a closed socket.
                buffer_shrank(out_.size());
                out_.clear();
            } else if (peer->reading_) {
                std::string chunk;
                chunk.swap(out_);
                const std::size_t n = chunk.size();
                if (peer->protocol_) peer->protocol_->data_received(chunk);
                out_.swap(chunk);  // keep the capacity: the next write reuses it
                out_.clear();
                buffer_shrank(n);
            }
        }
        if (eof_queued_ && !eof_sent_ && out_.empty()) {
            eof_sent_ = true;
            if (peer && peer->started_ && peer->protocol_ && !peer->lost_) {
                if (!peer->protocol_->eof_received()) peer->close();
            }
        }
        if (closing_ && eof_sent_ && !closed_) {
            closed_ = true;
            lose(nullptr);
            if (peer && !peer->out_.empty()) peer->schedule();  // its bytes to us are dropped now
        }
        if (reset_ && !lost_) {
            closing_ = true;
            lose(make_os_error(ECONNRESET, fmt::format("write to memory stream {}: the other end is closed", 1 - index_)));
        }
    }

    void lose(std::exception_ptr error) {
        lost_ = true;
        buffer_shrank(out_.size());
        out_.clear();
        if (Protocol* p = protocol_) p->connection_lost(std::move(error));
    }

    MemoryTransport* peer_ = nullptr;
    std::string out_;
    int index_;
    bool started_ = false;
    bool reading_ = true;
    bool scheduled_ = false;
    bool eof_queued_ = false;  // write_eof() or close(): EOF follows the buffered bytes
    bool eof_sent_ = false;
    bool closing_ = false;
    bool closed_ = false;  // closed completely: the peer's writes reset
    bool lost_ = false;    // connection_lost() was delivered
    bool reset_ = false;
};

}  // namespace

std::pair<MemoryStream, MemoryStream> memory_stream_pair() { return memory_stream_pair(OpenOptions()); }

std::pair<MemoryStream, MemoryStream> memory_stream_pair(OpenOptions options) {
    if (options.limit == 0) throw ValueError("memory_stream_pair(): OpenOptions::limit must be > 0");
    EventLoop& loop = get_running_loop();
    auto* a = new MemoryTransport(loop, 0);
    auto* b = new MemoryTransport(loop, 1);
    MemoryTransport::join(*a, *b);
    auto [ar, aw] = detail::make_streams(a, options.limit);
    auto [br, bw] = detail::make_streams(b, options.limit);
    return {MemoryStream{std::move(ar), std::move(aw)}, MemoryStream{std::move(br), std::move(bw)}};
}

}  // namespace corio
