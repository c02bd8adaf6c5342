// Server and start_server, ported from asyncio's base_events.Server (3.13): serving starts
// at once unless asked not to; close() stops listening and leaves the connections;
// wait_closed() waits for both (3.12's meaning); serve_forever() ends in CancelledError,
// whether its task is cancelled or the server is closed under it.
#include <fmt/format.h>

#include <chrono>

#include "corio/errors.hpp"
#include "corio/event_loop.hpp"
#include "corio/sleep.hpp"
#include "corio/task.hpp"
#include "corio/waker.hpp"
#include "server_state.hpp"
#include "stream_state.hpp"

namespace corio {

namespace detail {

void check_port(int port, const char* what);

ServerState::ServerState(EventLoop& loop, ClientHandler handler, ServerOptions options)
    : loop_(loop), handler_(std::move(handler)), options_(options) {}

ServerState::~ServerState() { close(); }

void ServerState::add_listener(std::unique_ptr<Listener> listener) {
    addrs_.push_back(listener->sockname());
    listeners_.push_back(std::move(listener));
}

void ServerState::start() {
    if (serving_ || closed_) return;
    for (auto& l : listeners_) l->start();
    serving_ = true;
}

std::vector<SockAddr> ServerState::sockets() const { return closed_ ? std::vector<SockAddr>{} : addrs_; }

std::string ServerState::describe() const {
    std::string s = "<Server sockets=[";
    for (std::size_t i = 0; i < addrs_.size(); ++i) s += (i ? ", " : "") + format_address(addrs_[i]);
    return s + "]>";
}

void ServerState::close() noexcept {
    if (closed_) return;
    closed_ = true;
    serving_ = false;
    for (auto& l : listeners_) l->close();
    listeners_.clear();
    // serve_forever() ends (with CancelledError, as asyncio's cancelled future).
    while (ParkedWaiter* w = forever_.pop_front()) w->wake();
    maybe_wake_closed();
}

void ServerState::close_clients() noexcept {
    // Closing may detach a client at once: step to the next one first.
    for (StreamState* c = clients_; c;) {
        StreamState* next = c->next_client;
        c->close_transport();
        c = next;
    }
}

void ServerState::abort_clients() noexcept {
    for (StreamState* c = clients_; c;) {
        StreamState* next = c->next_client;
        c->abort_transport();
        c = next;
    }
}

void ServerState::client_attached(StreamState& s) noexcept {
    s.prev_client = nullptr;
    s.next_client = clients_;
    if (clients_) clients_->prev_client = &s;
    clients_ = &s;
    ++client_count_;
}

void ServerState::client_detached(StreamState& s) noexcept {
    if (s.prev_client)
        s.prev_client->next_client = s.next_client;
    else
        clients_ = s.next_client;
    if (s.next_client) s.next_client->prev_client = s.prev_client;
    s.prev_client = s.next_client = nullptr;
    --client_count_;
    maybe_wake_closed();
}

void ServerState::maybe_wake_closed() noexcept {
    if (closed_ && client_count_ == 0)
        while (ParkedWaiter* w = closed_waiters_.pop_front()) w->wake();
}

void ServerState::accept(Transport* t) {
    StreamState* s = nullptr;
    try {
        s = new StreamState(t, options_.limit);
    } catch (...) {
        t->release();
        throw;
    }
    auto [reader, writer] = s->handles();
    s->attach_server(*this);
    t->start(*s);
    loop_.create_task(run_client(Ref(this), std::move(reader), std::move(writer)));
}

Coro<> ServerState::run_client(Ref self, StreamReader reader, StreamWriter writer) {
    std::exception_ptr error;
    try {
        co_await self->handler_(std::move(reader), std::move(writer));
    } catch (const CancelledError&) {
        throw;
    } catch (...) {
        error = std::current_exception();
    }
    if (error) {
        // asyncio's message; the handler's reader and writer are gone, so the connection is closed.
        Task<> me = current_task();
        self->loop_.call_exception_handler(ExceptionContext{"Unhandled exception in client_connected_cb", error, &me});
    }
}

Coro<> ServerState::serve_forever(Ref self) {
    if (self->serving_forever_)
        throw RuntimeError(fmt::format("server {} is already being awaited on serve_forever()", self->describe()));
    if (self->closed_) throw RuntimeError(fmt::format("server {} is closed", self->describe()));
    self->start();
    self->serving_forever_ = true;
    std::exception_ptr cancelled;
    try {
        co_await Park(self->forever_);
        // Woken by close(): asyncio raises CancelledError here too (its future was cancelled).
        throw CancelledError("the server was closed while serve_forever() ran");
    } catch (const CancelledError&) {
        cancelled = std::current_exception();
    }
    self->serving_forever_ = false;
    self->close();
    co_await wait_closed(Ref(self));
    std::rethrow_exception(cancelled);
}

Coro<> ServerState::wait_closed(Ref self) {
    if (self->closed_ && self->client_count_ == 0) co_return;
    co_await Park(self->closed_waiters_);
}

}  // namespace detail

// --- the handle ---------------------------------------------------------------------------

Server& Server::operator=(Server&& o) noexcept {
    if (this != &o) {
        if (s_) {
            s_->close();
            s_->unref();
        }
        s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
}

Server::~Server() {
    if (s_) {
        s_->close();
        s_->unref();
    }
}

detail::ServerState& Server::state() const {
    if (!s_) throw InvalidStateError("Server: this handle is empty (default-constructed or moved from)");
    return *s_;
}

std::vector<SockAddr> Server::sockets() const { return state().sockets(); }
bool Server::is_serving() const { return state().is_serving(); }
Coro<> Server::start_serving() {
    detail::ServerState::Ref self(&state());
    self->start();
    co_await sleep(std::chrono::seconds(0));
}
Coro<> Server::serve_forever() { return detail::ServerState::serve_forever(detail::ServerState::Ref(&state())); }
void Server::close() { state().close(); }
void Server::close_clients() { state().close_clients(); }
void Server::abort_clients() { state().abort_clients(); }
Coro<> Server::wait_closed() { return detail::ServerState::wait_closed(detail::ServerState::Ref(&state())); }
Coro<> Server::aexit(std::exception_ptr) {
    detail::ServerState::Ref self(&state());
    self->close();
    co_await detail::ServerState::wait_closed(detail::ServerState::Ref(self));
}

Coro<Server> start_server(ClientHandler handle, std::string host, int port) {
    return start_server(std::move(handle), std::move(host), port, ServerOptions());
}

Coro<Server> start_server(ClientHandler handle, std::string host, int port, ServerOptions options) {
    detail::check_port(port, "start_server()");
    if (!handle) throw ValueError("start_server(): the connection handler is empty");
    if (options.limit == 0) throw ValueError("start_server(): ServerOptions::limit must be > 0");
    if (options.backlog <= 0) throw ValueError(fmt::format("start_server(): backlog must be > 0, got {}", options.backlog));
    EventLoop& loop = get_running_loop();
    Network& net = network_of(loop, "start_server()");
    const std::vector<AddrInfo> addrs = co_await net.resolve(host, port, true);
    Server server(new detail::ServerState(loop, std::move(handle), options));
    server.s_->ref();
    detail::ServerState* state = server.s_;
    // Port 0 picks a free port once: every address of the host then gets that same port.
    int chosen = port;
    for (AddrInfo a : addrs) {
        if (chosen != 0) a.port = chosen;
        auto listener = net.listen(a, options.backlog, [state](Transport* t) {
            call_guarded(state->loop(), "accept", [&] { state->accept(t); });
        });
        if (chosen == 0) chosen = listener->sockname().port;
        state->add_listener(std::move(listener));
    }
    if (options.start_serving) state->start();
    co_return server;
}

}  // namespace corio
