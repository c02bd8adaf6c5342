// AsyncGenerator<T>: Python's async generator. The body may co_await and co_yield; next()
// gives std::optional<T> (empty at the end), begin()/end()/++ iterate, an exception thrown
// inside comes out of next(), and aclose() throws GeneratorExit at the paused co_yield so
// the body can clean up. Destroying an unfinished generator runs its destructors; run()
// closes generators still paused when the main coroutine ends.
#pragma once

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "corio/coro.hpp"
#include "corio/detail/async_gen_hook.hpp"
#include "corio/detail/coroutine.hpp"
#include "corio/detail/future_awaiter.hpp"
#include "corio/detail/promise_base.hpp"
#include "corio/detail/task_base.hpp"
#include "corio/errors.hpp"
#include "corio/event_loop.hpp"

namespace corio {

namespace detail {
[[noreturn]] void throw_generator_running(const char* what);
[[noreturn]] void throw_generator_ignored_exit();
}  // namespace detail

template <class T>
class [[nodiscard]] AsyncGenerator {
    static_assert(!std::is_void_v<T> && !std::is_reference_v<T>, "AsyncGenerator<T> yields values");

public:
    struct promise_type;
    using handle_type = detail::coroutine_handle<promise_type>;

    struct promise_type final : detail::PromiseBase, detail::AsyncGenHook {
        explicit promise_type(detail::SourceLocation at = detail::SourceLocation::current()) noexcept
            : PromiseBase(at), AsyncGenHook(&finalize_hook) {
            static_assert(alignof(promise_type) <= detail::kMaxPromiseAlign, "see promise_at() in promise_base.hpp");
        }

        AsyncGenerator get_return_object() noexcept { return AsyncGenerator(handle_type::from_promise(*this)); }

        // Back to whoever asked for the next value, through the loop's trampoline.
        struct Transfer {
            bool await_ready() const noexcept { return false; }
            template <class P>
            void await_suspend(detail::coroutine_handle<P> h) noexcept {
                promise_type& p = h.promise();
                p.task_->set_innermost_frame(p.continuation_.address());
                detail::core(p.task_->loop()).transfer(p.task_, std::exchange(p.continuation_, {}));
            }
            void await_resume() const noexcept {}
        };
        struct YieldAwaiter : Transfer {
            promise_type& p;
            explicit YieldAwaiter(promise_type& pr) noexcept : p(pr) {}
            void await_resume() const {
                if (p.closing_) throw GeneratorExit();
            }
        };
        struct FinalAwaiter : Transfer {
            template <class P>
            void await_suspend(detail::coroutine_handle<P> h) noexcept {
                promise_type& p = h.promise();
                p.finished_ = true;
                p.unhook();
                if (p.continuation_) Transfer::await_suspend(h);
            }
        };

        template <class U = T>
        YieldAwaiter yield_value(U&& v) {
            value_.emplace(std::forward<U>(v));
            return YieldAwaiter(*this);
        }
        FinalAwaiter final_suspend() noexcept { return {}; }
        void return_void() noexcept {}

        static Coro<void> finalize_hook(detail::AsyncGenHook& hook) {
            return AsyncGenerator::close(handle_type::from_promise(static_cast<promise_type&>(hook)));
        }

        std::optional<T> value_;
        bool finished_ = false;
        bool running_ = false;
        bool closing_ = false;
    };

    // Resumes the generator until its next co_yield or its end; true if a value came.
    class Advance {
    public:
        explicit Advance(handle_type h) noexcept : h_(h) {}
        bool await_ready() const {
            if (!h_) detail::throw_empty_handle("AsyncGenerator");
            promise_type& p = h_.promise();
            if (p.running_) detail::throw_generator_running("next()");
            return p.finished_;
        }
        template <class P>
        void await_suspend(detail::coroutine_handle<P> consumer) {
            promise_type& p = h_.promise();
            detail::TaskBase* task = detail::task_of(consumer);
            if (!p.task_) p.hook_into(detail::core(task->loop()).async_generators());  // first start
            p.task_ = task;
            p.continuation_ = consumer;
            p.value_.reset();
            p.running_ = true;
            task->set_innermost_frame(h_.address());
            detail::core(task->loop()).transfer(task, h_);
        }
        bool await_resume() {
            promise_type& p = h_.promise();
            p.running_ = false;
            if (p.exception_) std::rethrow_exception(std::exchange(p.exception_, nullptr));
            return !p.finished_;
        }

    protected:
        handle_type h_;
    };

    class Next final : public Advance {
    public:
        using Advance::Advance;
        std::optional<T> await_resume() {
            if (!Advance::await_resume()) return std::nullopt;
            return std::move(this->h_.promise().value_);
        }
    };

    struct sentinel {};
    class iterator {
    public:
        T& operator*() const { return *gen_->h_.promise().value_; }
        T* operator->() const { return &*gen_->h_.promise().value_; }
        bool operator==(sentinel) const noexcept { return !gen_ || gen_->h_.promise().finished_; }
        // co_await ++it
        auto operator++() {
            struct Step final : Advance {
                iterator& it;
                Step(handle_type h, iterator& i) noexcept : Advance(h), it(i) {}
                iterator& await_resume() {
                    Advance::await_resume();
                    return it;
                }
            };
            return Step(gen_->h_, *this);
        }

    private:
        friend class AsyncGenerator;
        explicit iterator(AsyncGenerator* g) noexcept : gen_(g) {}
        AsyncGenerator* gen_;
    };

    AsyncGenerator() noexcept = default;
    AsyncGenerator(AsyncGenerator&& o) noexcept : h_(std::exchange(o.h_, {})) {}
    AsyncGenerator& operator=(AsyncGenerator&& o) noexcept {
        if (this != &o) {
            reset();
            h_ = std::exchange(o.h_, {});
        }
        return *this;
    }
    ~AsyncGenerator() { reset(); }

    // The next value, or an empty optional once the generator has finished.
    Next next() noexcept { return Next(h_); }
    // co_await gen.begin(): runs to the first value.
    auto begin() {
        struct Begin final : Advance {
            AsyncGenerator* gen;
            Begin(handle_type h, AsyncGenerator* g) noexcept : Advance(h), gen(g) {}
            iterator await_resume() {
                Advance::await_resume();
                return iterator(gen);
            }
        };
        return Begin(h_, this);
    }
    sentinel end() const noexcept { return {}; }

    // Throws GeneratorExit at the paused co_yield and runs the generator to its end. A
    // generator that yields again instead raises RuntimeError. No-op if it never started
    // or has finished.
    Coro<void> aclose() { return close(h_); }
    bool finished() const noexcept { return !h_ || h_.promise().finished_; }

private:
    explicit AsyncGenerator(handle_type h) noexcept : h_(h) {}

    static Coro<void> close(handle_type h) {
        if (!h) co_return;
        promise_type& p = h.promise();
        if (p.finished_) co_return;
        if (p.running_) detail::throw_generator_running("aclose()");
        if (!p.task_) {  // never started: nothing to clean up
            p.finished_ = true;
            co_return;
        }
        p.closing_ = true;
        bool yielded = false;
        try {
            yielded = co_await Advance(h);
        } catch (const GeneratorExit&) {
        }
        if (yielded) detail::throw_generator_ignored_exit();
    }

    void reset() noexcept {
        if (!h_) return;
        h_.destroy();  // the promise unhooks itself from the loop's list
        h_ = {};
    }

    handle_type h_;
};

}  // namespace corio
