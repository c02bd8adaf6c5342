// TCP on libuv: the transport under StreamReader/StreamWriter, the listener under Server,
// and connect. A write first tries the socket directly (uv_try_write: no copy, no request
// when the kernel takes it all); what is left waits in one buffer while one uv_write is in
// flight, so a busy connection allocates nothing per message. Reads land in the loop's one
// 64 KiB buffer, handed to the protocol as a view. Every object with a uv handle is
// freed from the handle's close callback, never before (libuv's rule).
#include <fmt/format.h>

#include <cerrno>
#include <memory>
#include <string>
#include <utility>

#include "corio/os_error.hpp"
#include "corio/waker.hpp"
#include "libuv_backend.hpp"

namespace corio::backends::uv {

namespace {

class TcpTransport final : public Transport, public UvResource {
public:
    explicit TcpTransport(LibuvBackend& backend) : backend_(backend) {
        uv_tcp_init(backend.uv(), &tcp_);
        tcp_.data = this;
        backend.add_resource(*this);
    }

    uv_tcp_t* handle() noexcept { return &tcp_; }
    uv_stream_t* stream() noexcept { return reinterpret_cast<uv_stream_t*>(&tcp_); }

    // Connected (by connect or accept): the names and TCP_NODELAY, as asyncio sets it.
    void connected() {
        uv_tcp_nodelay(&tcp_, 1);
        sockaddr_storage sa{};
        int len = sizeof sa;
        if (uv_tcp_getpeername(&tcp_, reinterpret_cast<sockaddr*>(&sa), &len) == 0)
            peer_ = to_sockaddr(reinterpret_cast<sockaddr*>(&sa));
        len = sizeof sa;
        if (uv_tcp_getsockname(&tcp_, reinterpret_cast<sockaddr*>(&sa), &len) == 0)
            sock_ = to_sockaddr(reinterpret_cast<sockaddr*>(&sa));
    }

    // --- Transport ------------------------------------------------------------------------
    void start(Protocol& protocol) override {
        protocol_ = &protocol;
        started_ = true;
        resume_reading();
    }

    void write(std::string_view data) override {
        if (closing_) return;
        if (eof_written_) throw RuntimeError("StreamWriter::write() after write_eof()");
        if (!writing_ && pending_.empty()) {
            uv_buf_t buf = uv_buf_init(const_cast<char*>(data.data()), static_cast<unsigned>(data.size()));
            const int n = uv_try_write(stream(), &buf, 1);
            if (n >= 0 && static_cast<std::size_t>(n) == data.size()) return;
            if (n < 0 && n != UV_EAGAIN) {
                fail(n, "write to");
                return;
            }
            if (n > 0) data.remove_prefix(static_cast<std::size_t>(n));
        }
        pending_.append(data);
        buffer_grew(data.size());
        flush();
    }

    void write_eof() override {
        if (closing_ || eof_written_) return;
        eof_written_ = true;
        if (!writing_ && pending_.empty()) shutdown_write();
    }

    void pause_reading() override {
        if (!reading_) return;
        reading_ = false;
        uv_read_stop(stream());
    }

    void resume_reading() override {
        if (reading_ || !started_ || closing_ || eof_received_) return;
        reading_ = true;
        uv_read_start(
            stream(),
            [](uv_handle_t* h, std::size_t, uv_buf_t* buf) {
                auto* t = static_cast<TcpTransport*>(h->data);
                *buf = uv_buf_init(t->backend_.read_buffer(), LibuvBackend::kReadBuffer);
            },
            [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
                static_cast<TcpTransport*>(s->data)->on_read(n, buf->base);
            });
    }

    bool is_reading() const noexcept override { return reading_; }

    void close() override {
        if (closing_) return;
        closing_ = true;
        pause_reading();
        if (!writing_ && pending_.empty()) close_handle();
    }

    void abort() override {
        if (handle_closing_) return;
        closing_ = true;
        pause_reading();
        if (!pending_.empty()) {
            buffer_shrank(pending_.size());
            pending_.clear();
        }
        close_handle();  // an uv_write in flight ends with UV_ECANCELED
    }

    bool is_closing() const noexcept override { return closing_; }
    SockAddr peername() const override { return peer_; }
    SockAddr sockname() const override { return sock_; }

    void release() noexcept override {
        protocol_ = nullptr;
        released_ = true;
        if (!closing_) abort();
        if (closed_) delete this;  // else the close callback frees it
    }

    // --- UvResource ---------------------------------------------------------------------------
    void shutdown() noexcept override {
        if (!lost_error_)
            lost_error_ = make_os_error(ECONNABORTED, fmt::format("connection to {}: the event loop was closed",
                                                                  format_address(peer_)));
        abort();
    }

private:
    ~TcpTransport() override = default;

    void on_read(ssize_t n, const char* data) {
        if (n > 0) {
            if (protocol_) {
                EventLoop& loop = backend_.loop();
                call_guarded(loop, "data_received", [&] {
                    protocol_->data_received(std::string_view(data, static_cast<std::size_t>(n)));
                });
            }
        } else if (n == UV_EOF) {
            eof_received_ = true;
            pause_reading();
            bool keep_open = false;
            if (protocol_) call_guarded(backend_.loop(), "eof_received", [&] { keep_open = protocol_->eof_received(); });
            if (!keep_open) close();
        } else if (n < 0) {
            fail(static_cast<int>(n), "read from");
        }
    }

    void flush() {
        if (writing_ || pending_.empty() || handle_closing_) return;
        inflight_.swap(pending_);  // the emptied buffer keeps its capacity for the next bytes
        writing_ = true;
        uv_buf_t buf = uv_buf_init(inflight_.data(), static_cast<unsigned>(inflight_.size()));
        const int rc = uv_write(&write_req_, stream(), &buf, 1, [](uv_write_t* req, int status) {
            static_cast<TcpTransport*>(req->handle->data)->on_written(status);
        });
        if (rc < 0) {
            writing_ = false;
            fail(rc, "write to");
        }
    }

    void on_written(int status) {
        writing_ = false;
        buffer_shrank(inflight_.size());
        inflight_.clear();
        if (status == UV_ECANCELED) return;  // aborted
        if (status < 0) {
            fail(status, "write to");
            return;
        }
        if (!pending_.empty()) {
            flush();
        } else if (closing_) {
            close_handle();
        } else if (eof_written_) {
            shutdown_write();
        }
    }

    void shutdown_write() {
        if (shutdown_sent_ || handle_closing_) return;
        shutdown_sent_ = true;
        uv_shutdown(&shutdown_req_, stream(), [](uv_shutdown_t*, int) {});
    }

    // The connection broke: the protocol gets the error once the handle is closed.
    void fail(int status, const char* op) {
        if (!lost_error_) lost_error_ = os_error(status, fmt::format("{} {}", op, format_address(peer_)));
        abort();
    }

    void close_handle() {
        if (handle_closing_) return;
        handle_closing_ = true;
        closing_ = true;
        uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), [](uv_handle_t* h) {
            static_cast<TcpTransport*>(h->data)->on_closed();
        });
    }

    void on_closed() {
        closed_ = true;
        backend_.remove_resource(*this);
        if (!pending_.empty()) {
            buffer_shrank(pending_.size());
            pending_.clear();
        }
        if (Protocol* p = protocol_) {
            protocol_ = nullptr;  // connection_lost is the last event
            call_guarded(backend_.loop(), "connection_lost", [&] { p->connection_lost(lost_error_); });
        }
        if (released_) delete this;
    }

    LibuvBackend& backend_;
    uv_tcp_t tcp_;
    uv_write_t write_req_;
    uv_shutdown_t shutdown_req_;
    std::string pending_;   // bytes waiting for the write in flight to finish
    std::string inflight_;  // the bytes of the write in flight
    SockAddr peer_;
    SockAddr sock_;
    std::exception_ptr lost_error_;
    bool started_ = false;
    bool reading_ = false;
    bool writing_ = false;
    bool closing_ = false;         // close() or abort(): no more writes
    bool handle_closing_ = false;  // uv_close was called
    bool closed_ = false;          // its callback ran
    bool released_ = false;
    bool eof_written_ = false;
    bool shutdown_sent_ = false;
    bool eof_received_ = false;
};

// The uv side of a listener; freed from its close callback.
class TcpListenSocket final : public UvResource {
public:
    TcpListenSocket(LibuvBackend& backend, std::function<void(Transport*)> on_connection, int backlog)
        : backend_(backend), on_connection_(std::move(on_connection)), backlog_(backlog) {
        uv_tcp_init(backend.uv(), &tcp_);
        tcp_.data = this;
        backend.add_resource(*this);
    }

    // OSError naming the address; the socket closes itself then.
    void bind(const AddrInfo& a) {
        sockaddr_storage sa{};
        if (!from_addrinfo(a, sa)) {
            close();
            throw_os_error(EINVAL, fmt::format("bind to {}: not a numeric address", format_address({a.host, a.port})));
        }
        // libuv sets SO_REUSEADDR on bind; IPv6 sockets take IPv6 only, so that the IPv4
        // address of the same host can be bound beside them (as asyncio does).
        const unsigned flags = a.family == AF_INET6 ? UV_TCP_IPV6ONLY : 0;
        int rc = uv_tcp_bind(&tcp_, reinterpret_cast<const sockaddr*>(&sa), flags);
        if (rc == 0) {
            int len = sizeof sa;
            rc = uv_tcp_getsockname(&tcp_, reinterpret_cast<sockaddr*>(&sa), &len);
            if (rc == 0) name_ = to_sockaddr(reinterpret_cast<sockaddr*>(&sa));
        }
        if (rc < 0) {
            close();
            std::rethrow_exception(os_error(rc, fmt::format("bind to {}", format_address({a.host, a.port}))));
        }
    }

    void listen() {
        const int rc = uv_listen(reinterpret_cast<uv_stream_t*>(&tcp_), backlog_, [](uv_stream_t* s, int status) {
            static_cast<TcpListenSocket*>(s->data)->on_connection(status);
        });
        if (rc < 0) std::rethrow_exception(os_error(rc, fmt::format("listen on {}", format_address(name_))));
    }

    const SockAddr& name() const noexcept { return name_; }

    void close() noexcept {
        if (closing_) return;
        closing_ = true;
        uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), [](uv_handle_t* h) {
            auto* self = static_cast<TcpListenSocket*>(h->data);
            self->backend_.remove_resource(*self);
            delete self;
        });
    }

    void shutdown() noexcept override { close(); }

private:
    ~TcpListenSocket() = default;

    void on_connection(int status) {
        if (status < 0 || closing_) return;  // a failed accept (EMFILE...) drops that one connection
        auto* t = new TcpTransport(backend_);
        if (uv_accept(reinterpret_cast<uv_stream_t*>(&tcp_), t->stream()) != 0) {
            t->release();
            return;
        }
        t->connected();
        on_connection_(t);  // the core's accept, which is call_guarded
    }

    LibuvBackend& backend_;
    uv_tcp_t tcp_;
    std::function<void(Transport*)> on_connection_;
    int backlog_;
    SockAddr name_;
    bool closing_ = false;
};

class TcpListener final : public Listener {
public:
    explicit TcpListener(TcpListenSocket* s) noexcept : s_(s) {}
    ~TcpListener() override { close(); }
    SockAddr sockname() const override { return s_ ? s_->name() : SockAddr{}; }
    void start() override {
        if (s_) s_->listen();
    }
    void close() noexcept override {
        if (TcpListenSocket* s = std::exchange(s_, nullptr)) s->close();
    }

private:
    TcpListenSocket* s_;
};

// Frees a transport that did not make it to a stream (connect failed or was cancelled).
struct ReleaseOnExit {
    TcpTransport* t;
    ~ReleaseOnExit() {
        if (t) t->release();
    }
};

}  // namespace

std::unique_ptr<Listener> LibuvBackend::listen(const AddrInfo& addr, int backlog,
                                               std::function<void(Transport*)> on_connection) {
    auto* s = new TcpListenSocket(*this, std::move(on_connection), backlog);
    s->bind(addr);
    return std::make_unique<TcpListener>(s);
}

Coro<Transport*> LibuvBackend::connect(AddrInfo addr) {
    sockaddr_storage sa{};
    if (!from_addrinfo(addr, sa))
        throw_os_error(EINVAL, fmt::format("connect to {}: not a numeric address", format_address({addr.host, addr.port})));
    auto* t = new TcpTransport(*this);
    ReleaseOnExit guard{t};
    // The request frees itself from its callback, which always runs once uv_tcp_connect
    // accepted it: with the result, or with UV_ECANCELED when cancelling closes the handle.
    struct Connect {
        uv_connect_t req;
        Waker<int> waker;
    };
    const int status = co_await suspend<int>(
        [&](Waker<int> w) {
            auto* c = new Connect{{}, std::move(w)};
            c->req.data = c;
            const int rc = uv_tcp_connect(&c->req, t->handle(), reinterpret_cast<const sockaddr*>(&sa),
                                          [](uv_connect_t* req, int st) {
                                              auto* done = static_cast<Connect*>(req->data);
                                              done->waker.set_result(st);
                                              delete done;
                                          });
            if (rc < 0) {
                c->waker.set_result(rc);
                delete c;
            }
        },
        [&] { t->abort(); });
    if (status < 0) std::rethrow_exception(os_error(status, fmt::format("connect to {}", format_address({addr.host, addr.port}))));
    t->connected();
    guard.t = nullptr;
    co_return t;
}

}  // namespace corio::backends::uv
