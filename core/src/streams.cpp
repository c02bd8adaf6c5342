// StreamReader and StreamWriter, ported from asyncio/streams.py (3.13): the reader's buffer
// with its limit (reading pauses above twice the limit and resumes at or below it), the
// separator search of readuntil that resumes where it stopped, readline's rules past the
// limit, and drain() over the transport's water marks.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "corio/errors.hpp"
#include "corio/event_loop.hpp"
#include "corio/network.hpp"
#include "corio/sleep.hpp"
#include "server_state.hpp"
#include "stream_state.hpp"

namespace corio {

IncompleteReadError::IncompleteReadError(std::string partial, std::optional<std::size_t> expected)
    : EOFError(fmt::format("{} bytes read on a total of {} expected bytes", partial.size(),
                           expected ? std::to_string(*expected) : std::string("undefined"))),
      partial_(std::move(partial)),
      expected_(expected) {}

namespace detail {

StreamState::StreamState(Transport* transport, std::size_t limit) : transport_(transport), limit_(limit) {
    if (limit == 0) throw ValueError("the stream limit must be > 0");
    peer_ = transport->peername();
}

StreamState::~StreamState() {
    release_transport();
    detach_server();
}

std::pair<StreamReader, StreamWriter> StreamState::handles() {
    has_reader_ = has_writer_ = true;
    refs_ += 2;
    return {StreamReader(this), StreamWriter(this)};
}

void StreamState::reader_gone() noexcept {
    has_reader_ = false;
    if (!has_writer_) release_transport();
    unref();
}

void StreamState::writer_gone() noexcept {
    has_writer_ = false;
    // A writer dropped without close() aborts the connection (what it buffered is lost).
    if (transport_ && !closing_ && !lost_) transport_->abort();
    if (!has_reader_) release_transport();
    unref();
}

void StreamState::release_transport() noexcept {
    if (Transport* t = std::exchange(transport_, nullptr)) {
        t->release();
        // No more events will come: operations still in progress see the end now.
        if (!lost_) connection_lost(nullptr);
    }
    detach_server();
}

void StreamState::attach_server(ServerState& server) noexcept {
    server_ = &server;
    server.ref();  // a connection keeps its server's state (wait_closed counts it)
    server.client_attached(*this);
}

void StreamState::detach_server() noexcept {
    if (ServerState* s = std::exchange(server_, nullptr)) {
        s->client_detached(*this);
        s->unref();
    }
}

void StreamState::close_transport() noexcept {
    if (transport_ && !lost_) {
        closing_ = true;
        transport_->close();
    }
}

void StreamState::abort_transport() noexcept {
    if (transport_ && !lost_) {
        closing_ = true;
        transport_->abort();
    }
}

// --- Protocol ---------------------------------------------------------------------------

void StreamState::data_received(std::string_view data) {
    if (data.empty()) return;
    if (head_ == buf_.size()) {
        buf_.clear();
        head_ = 0;
    }
    buf_.append(data);
    wakeup_waiter();
    if (transport_ && !reading_paused_ && available() > 2 * limit_) {
        reading_paused_ = true;
        transport_->pause_reading();
    }
}

bool StreamState::eof_received() {
    eof_ = true;
    wakeup_waiter();
    return true;  // keep the transport open: the writer may still write (a half-close)
}

void StreamState::connection_lost(std::exception_ptr error) {
    if (error)
        set_exception(error);
    else {
        eof_ = true;
        wakeup_waiter();
    }
    lost_ = true;
    lost_error_ = error;
    while (ParkedWaiter* w = drain_waiters_.pop_front()) w->wake();
    while (ParkedWaiter* w = closed_waiters_.pop_front()) w->wake();
    detach_server();
}

void StreamState::resume_writing() {
    writing_paused_ = false;
    while (ParkedWaiter* w = drain_waiters_.pop_front()) w->wake();
}

// --- the reader -------------------------------------------------------------------------

void StreamState::set_exception(std::exception_ptr e) {
    exception_ = std::move(e);
    wakeup_waiter();
}

void StreamState::wakeup_waiter() noexcept {
    if (ParkedWaiter* w = data_waiter_.pop_front()) w->wake();
}

void StreamState::maybe_resume_transport() noexcept {
    if (reading_paused_ && available() <= limit_) {
        reading_paused_ = false;
        if (transport_) transport_->resume_reading();
    }
}

void StreamState::consume(std::size_t n) noexcept {
    head_ += n;
    if (head_ == buf_.size()) {
        buf_.clear();
        head_ = 0;
    } else if (head_ >= 64 * 1024 && head_ >= buf_.size() / 2) {
        buf_.erase(0, head_);  // keep the dead prefix from growing without end
        head_ = 0;
    }
}

std::string StreamState::take(std::size_t n) {
    if (head_ == 0 && n >= buf_.size()) {
        // All of it: hand the buffer itself over instead of copying it (a 64 KiB echo made
        // two copies), and reserve the next one as large, which is the allocation the copy
        // made: same sizes each time, so the allocator reuses the block the caller frees
        // (a new buffer grown by appends instead made glibc trim and fault in pages).
        std::string out = std::move(buf_);
        buf_ = std::string();
        buf_.reserve(std::min(out.capacity(), 2 * limit_));  // not a one-off giant forever
        return out;
    }
    std::string out(buffered().substr(0, n));
    consume(out.size());
    return out;
}

void StreamState::begin_wait_for_data(const char* function) {
    if (!data_waiter_.empty())
        throw RuntimeError(fmt::format("StreamReader::{}() called while another task is already waiting for "
                                       "incoming data",
                                       function));
    // Reading resumes even above the limit: the caller needs more bytes (readexactly).
    if (reading_paused_) {
        reading_paused_ = false;
        if (transport_) transport_->resume_reading();
    }
}

Coro<std::string> StreamState::read(Ref self, std::ptrdiff_t n) {
    StreamState& s = *self;
    if (s.exception_) std::rethrow_exception(s.exception_);
    if (n == 0) co_return std::string();
    if (n < 0) {
        std::string all;
        for (;;) {
            if (s.available() > 0) {
                all += s.buffered();
                s.consume(s.available());
                s.maybe_resume_transport();
            } else if (s.eof_) {
                break;
            } else {
                co_await WaitForData(s, "read");
            }
        }
        co_return all;
    }
    if (s.available() == 0 && !s.eof_) co_await WaitForData(s, "read");
    std::string data = s.take(std::min<std::size_t>(static_cast<std::size_t>(n), s.available()));
    s.maybe_resume_transport();
    co_return data;
}

Coro<std::string> StreamState::readuntil(Ref self, std::string separator) {
    StreamState& s = *self;
    const std::size_t seplen = separator.size();
    if (seplen == 0) throw ValueError("Separator should be at least one-byte string");
    if (s.exception_) std::rethrow_exception(s.exception_);
    // asyncio's search: `offset` is where the separator could start that has not been
    // looked at yet, so a separator split across chunks is found and nothing is searched twice.
    std::size_t offset = 0;
    std::size_t isep = std::string_view::npos;
    for (;;) {
        const std::size_t buflen = s.available();
        if (buflen >= offset + seplen) {
            isep = s.buffered().find(separator, offset);
            if (isep != std::string_view::npos) break;
            offset = buflen + 1 - seplen;
            if (offset > s.limit_) throw LimitOverrunError("Separator is not found, and chunk exceed the limit", offset);
        }
        if (s.eof_) throw IncompleteReadError(s.take(s.available()), std::nullopt);
        co_await WaitForData(s, "readuntil");
    }
    if (isep > s.limit_) throw LimitOverrunError("Separator is found, but chunk is longer than limit", isep);
    std::string chunk = s.take(isep + seplen);
    s.maybe_resume_transport();
    co_return chunk;
}

Coro<std::string> StreamState::readline(Ref self) {
    StreamState& s = *self;
    std::string line;
    std::exception_ptr overrun;
    std::size_t consumed = 0;
    try {
        line = co_await readuntil(self, "\n");
    } catch (const IncompleteReadError& e) {
        line = e.partial();
    } catch (const LimitOverrunError& e) {
        overrun = std::current_exception();
        consumed = e.consumed();
    }
    if (overrun) {
        // asyncio: drop the line if its end is in the buffer, else everything buffered.
        if (s.buffered().substr(std::min(consumed, s.available())).starts_with('\n'))
            s.consume(consumed + 1);
        else
            s.consume(s.available());
        s.maybe_resume_transport();
        try {
            std::rethrow_exception(overrun);
        } catch (const LimitOverrunError& e) {
            throw ValueError(e.what());
        }
    }
    co_return line;
}

Coro<std::string> StreamState::readexactly(Ref self, std::ptrdiff_t n) {
    StreamState& s = *self;
    if (n < 0) throw ValueError("readexactly size can not be less than zero");
    if (s.exception_) std::rethrow_exception(s.exception_);
    if (n == 0) co_return std::string();
    const auto want = static_cast<std::size_t>(n);
    while (s.available() < want) {
        if (s.eof_) throw IncompleteReadError(s.take(s.available()), want);
        co_await WaitForData(s, "readexactly");
    }
    std::string data = s.take(want);
    s.maybe_resume_transport();
    co_return data;
}

// --- the writer -------------------------------------------------------------------------

void StreamState::write(std::string_view data) {
    if (!transport_ || closing_ || lost_ || data.empty()) return;
    transport_->write(data);
}

void StreamState::throw_lost(const char* function) const {
    const std::string where = peer_.host.empty() ? std::string("the stream") : format_address(peer_);
    throw ConnectionResetError(ECONNRESET,
                               fmt::format("StreamWriter::{}(): the connection to {} is {}", function, where,
                                           closing_ ? "closed (close() was called)" : "lost"),
                               OSError::AsIs{});
}

Coro<> StreamState::drain(Ref self) {
    StreamState& s = *self;
    if (s.exception_) std::rethrow_exception(s.exception_);
    if (s.closing_ || s.lost_ || !s.transport_) s.throw_lost("drain");
    if (s.transport_->is_closing()) {
        // Let connection_lost() come first (asyncio yields here too).
        co_await sleep(std::chrono::seconds(0));
        if (s.exception_) std::rethrow_exception(s.exception_);
        if (s.lost_ || !s.transport_) s.throw_lost("drain");
    }
    if (!s.writing_paused_) co_return;
    co_await Park(s.drain_waiters_);
    if (s.lost_error_) std::rethrow_exception(s.lost_error_);
}

void StreamState::write_eof() {
    if (!transport_ || closing_ || lost_) return;
    transport_->write_eof();
}

void StreamState::close() {
    if (closing_) return;
    closing_ = true;
    if (transport_ && !lost_) transport_->close();
}

Coro<> StreamState::wait_closed(Ref self) {
    StreamState& s = *self;
    if (!s.lost_) co_await Park(s.closed_waiters_);
    if (s.lost_error_) std::rethrow_exception(s.lost_error_);
}

void StreamState::set_write_buffer_limits(std::size_t high, std::size_t low) {
    if (transport_) transport_->set_write_buffer_limits(high, low);
}

std::pair<StreamReader, StreamWriter> make_streams(Transport* transport, std::size_t limit) {
    StreamState* s = nullptr;
    try {
        s = new StreamState(transport, limit);
    } catch (...) {
        transport->release();
        throw;
    }
    auto handles = s->handles();
    transport->start(*s);
    return handles;
}

}  // namespace detail

// --- the handles --------------------------------------------------------------------------

namespace {
[[noreturn]] void throw_empty_stream(const char* what) {
    throw InvalidStateError(fmt::format("{}: this handle is empty (default-constructed or moved from)", what));
}
}  // namespace

StreamReader& StreamReader::operator=(StreamReader&& o) noexcept {
    if (this != &o) {
        if (s_) s_->reader_gone();
        s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
}
StreamReader::~StreamReader() {
    if (s_) s_->reader_gone();
}
detail::StreamState& StreamReader::state() const {
    if (!s_) throw_empty_stream("StreamReader");
    return *s_;
}
Coro<std::string> StreamReader::read(std::ptrdiff_t n) { return detail::StreamState::read(detail::StreamState::Ref(&state()), n); }
Coro<std::string> StreamReader::readline() { return detail::StreamState::readline(detail::StreamState::Ref(&state())); }
Coro<std::string> StreamReader::readuntil(std::string separator) {
    return detail::StreamState::readuntil(detail::StreamState::Ref(&state()), std::move(separator));
}
Coro<std::string> StreamReader::readuntil() { return readuntil("\n"); }
Coro<std::string> StreamReader::readexactly(std::ptrdiff_t n) {
    return detail::StreamState::readexactly(detail::StreamState::Ref(&state()), n);
}
bool StreamReader::at_eof() const { return state().at_eof(); }
std::size_t StreamReader::limit() const { return state().limit(); }
std::exception_ptr StreamReader::exception() const { return state().exception(); }
void StreamReader::set_exception(std::exception_ptr error) { state().set_exception(std::move(error)); }

StreamWriter& StreamWriter::operator=(StreamWriter&& o) noexcept {
    if (this != &o) {
        if (s_) s_->writer_gone();
        s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
}
StreamWriter::~StreamWriter() {
    if (s_) s_->writer_gone();
}
detail::StreamState& StreamWriter::state() const {
    if (!s_) throw_empty_stream("StreamWriter");
    return *s_;
}
void StreamWriter::write(std::string_view data) { state().write(data); }
Coro<> StreamWriter::drain() { return detail::StreamState::drain(detail::StreamState::Ref(&state())); }
void StreamWriter::write_eof() { state().write_eof(); }
bool StreamWriter::can_write_eof() const { return state().can_write_eof(); }
void StreamWriter::close() { state().close(); }
bool StreamWriter::is_closing() const { return state().is_closing(); }
Coro<> StreamWriter::wait_closed() { return detail::StreamState::wait_closed(detail::StreamState::Ref(&state())); }
SockAddr StreamWriter::peername() const { return state().peername(); }
SockAddr StreamWriter::sockname() const { return state().sockname(); }
void StreamWriter::set_write_buffer_limits(std::size_t high, std::size_t low) { state().set_write_buffer_limits(high, low); }
std::size_t StreamWriter::get_write_buffer_size() const { return state().write_buffer_size(); }

// --- open_connection ------------------------------------------------------------------------

namespace detail {
void check_port(int port, const char* what) {
    if (port < 0 || port > 65535) throw ValueError(fmt::format("{}: port must be 0-65535, got {}", what, port));
}
}  // namespace detail

Coro<std::pair<StreamReader, StreamWriter>> open_connection(std::string host, int port) {
    return open_connection(std::move(host), port, OpenOptions());
}

Coro<std::pair<StreamReader, StreamWriter>> open_connection(std::string host, int port, OpenOptions options) {
    detail::check_port(port, "open_connection()");
    if (options.limit == 0) throw ValueError("open_connection(): OpenOptions::limit must be > 0");
    EventLoop& loop = get_running_loop();
    Network& net = network_of(loop, "open_connection()");
    const std::vector<AddrInfo> addrs = co_await net.resolve(host, port, false);
    // asyncio tries the addresses in turn and reports every failure if all fail.
    std::vector<std::exception_ptr> errors;
    for (const AddrInfo& a : addrs) {
        Transport* t = nullptr;
        try {
            t = co_await net.connect(a);
        } catch (const OSError&) {
            errors.push_back(std::current_exception());
        }
        if (t) co_return detail::make_streams(t, options.limit);
    }
    if (errors.size() == 1) std::rethrow_exception(errors.front());
    std::string all;
    bool same = true;
    int first_code = 0;
    for (std::size_t i = 0; i < errors.size(); ++i) {
        try {
            std::rethrow_exception(errors[i]);
        } catch (const OSError& e) {
            if (i == 0) first_code = e.code().value();
            if (i > 0 && e.code().value() != first_code) same = false;
            all += (i ? "; " : "") + std::string(e.what());
        }
    }
    if (same && !errors.empty()) std::rethrow_exception(errors.front());
    throw OSError(first_code, fmt::format("open_connection('{}', {}): every address failed: {}", host, port, all),
                  OSError::AsIs{});
}

}  // namespace corio
