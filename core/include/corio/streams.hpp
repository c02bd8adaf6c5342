// asyncio's streams: open_connection() gives a StreamReader and a StreamWriter onto one
// connection, with asyncio's buffering, limits, drain() water marks, EOF and error rules;
// memory_stream_pair() gives two connected in-memory streams that behave the same on every
// backend (virtual time included), for testing protocol code without sockets.
//   auto [reader, writer] = co_await corio::open_connection("127.0.0.1", 8888);
//   writer.write("hello\n");
//   co_await writer.drain();
//   std::string line = co_await reader.readline();  // "" at EOF
//   writer.close();
//   co_await writer.wait_closed();
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "corio/coro.hpp"
#include "corio/os_error.hpp"
#include "corio/transport.hpp"

namespace corio {

class EventLoop;

namespace detail {
class StreamState;
}

class EOFError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// readexactly() at an early EOF, or readuntil() at EOF without the separator. The partial
// bytes have left the buffer; expected() is empty for readuntil.
class IncompleteReadError : public EOFError {
public:
    IncompleteReadError(std::string partial, std::optional<std::size_t> expected);
    const std::string& partial() const noexcept { return partial_; }
    std::optional<std::size_t> expected() const noexcept { return expected_; }

private:
    std::string partial_;
    std::optional<std::size_t> expected_;
};

// readuntil() found no separator within the limit; the data stays in the buffer. consumed()
// is asyncio's: how many bytes to drop to make progress.
class LimitOverrunError : public std::runtime_error {
public:
    LimitOverrunError(const std::string& message, std::size_t consumed)
        : std::runtime_error(message), consumed_(consumed) {}
    std::size_t consumed() const noexcept { return consumed_; }

private:
    std::size_t consumed_;
};

// Options of open_connection and memory_stream_pair. (Filled as a named variable: see API.md
// on g++ 12 and aggregate temporaries in co_await expressions.)
struct OpenOptions {
    OpenOptions() noexcept {}
    std::size_t limit = 64 * 1024;  // the reader's buffer limit (readline, readuntil)
};

// The reading end of a connection. Move-only; one task reads at a time.
class StreamReader {
public:
    StreamReader() noexcept = default;
    StreamReader(StreamReader&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    StreamReader& operator=(StreamReader&& o) noexcept;
    StreamReader(const StreamReader&) = delete;
    StreamReader& operator=(const StreamReader&) = delete;
    ~StreamReader();
    explicit operator bool() const noexcept { return s_ != nullptr; }

    // Up to n bytes as soon as any are there ("" at EOF, and for n == 0); n < 0: all bytes
    // up to EOF.
    Coro<std::string> read(std::ptrdiff_t n = -1);
    // A line with its "\n" ("" at EOF; the last line may lack it). ValueError past the limit.
    Coro<std::string> readline();
    // The bytes up to and with `separator`; IncompleteReadError at EOF, LimitOverrunError
    // past the limit, ValueError for an empty separator.
    Coro<std::string> readuntil(std::string separator);
    Coro<std::string> readuntil();  // "\n" (an overload, not a default argument: see OpenOptions)
    // Exactly n bytes; IncompleteReadError at an early EOF, ValueError for n < 0.
    Coro<std::string> readexactly(std::ptrdiff_t n);
    // EOF was received and the buffer is empty.
    bool at_eof() const;
    std::size_t limit() const;
    // The error that ends the stream (every later read raises it), or empty.
    std::exception_ptr exception() const;
    void set_exception(std::exception_ptr error);

private:
    friend class detail::StreamState;
    explicit StreamReader(detail::StreamState* s) noexcept : s_(s) {}
    detail::StreamState& state() const;
    detail::StreamState* s_ = nullptr;
};

// The writing end of a connection. Move-only. Dropping it unclosed aborts the connection;
// close() sends what is buffered first.
class StreamWriter {
public:
    StreamWriter() noexcept = default;
    StreamWriter(StreamWriter&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
    StreamWriter& operator=(StreamWriter&& o) noexcept;
    StreamWriter(const StreamWriter&) = delete;
    StreamWriter& operator=(const StreamWriter&) = delete;
    ~StreamWriter();
    explicit operator bool() const noexcept { return s_ != nullptr; }

    // Copies the bytes into the write buffer; never suspends. Does nothing once closing.
    void write(std::string_view data);
    // Waits while the write buffer is above its high-water mark. ConnectionResetError (or
    // the error that ended the connection) once the connection is gone or closed.
    Coro<> drain();
    void write_eof();
    bool can_write_eof() const;
    void close();
    bool is_closing() const;
    // Until the connection is closed; rethrows the error it ended with, if any.
    Coro<> wait_closed();
    SockAddr peername() const;
    SockAddr sockname() const;
    // asyncio's defaults: high 64 KiB, low 16 KiB.
    void set_write_buffer_limits(std::size_t high, std::size_t low);
    std::size_t get_write_buffer_size() const;

private:
    friend class detail::StreamState;
    explicit StreamWriter(detail::StreamState* s) noexcept : s_(s) {}
    detail::StreamState& state() const;
    detail::StreamState* s_ = nullptr;
};

// A TCP connection to host:port (a name or a numeric address), tried address by address.
// GaiError when the name does not resolve; OSError naming the address otherwise
// ("connect to 127.0.0.1:9: Connection refused" is a ConnectionRefusedError).
Coro<std::pair<StreamReader, StreamWriter>> open_connection(std::string host, int port);
Coro<std::pair<StreamReader, StreamWriter>> open_connection(std::string host, int port, OpenOptions options);

// One end of memory_stream_pair().
struct MemoryStream {
    StreamReader reader;
    StreamWriter writer;
};

// Two connected in-memory streams: a.writer writes to b.reader and back, with TCP's
// buffering, limits, drain and EOF behaviour. Closing one end's writer (or dropping both its
// handles) makes the other end read EOF, and its next write + drain() throw
// ConnectionResetError. Works on the running loop (RuntimeError when none runs).
std::pair<MemoryStream, MemoryStream> memory_stream_pair();
std::pair<MemoryStream, MemoryStream> memory_stream_pair(OpenOptions options);

namespace detail {
// Streams over `transport` (not started yet), which they own from now on.
std::pair<StreamReader, StreamWriter> make_streams(Transport* transport, std::size_t limit);
}  // namespace detail

}  // namespace corio
