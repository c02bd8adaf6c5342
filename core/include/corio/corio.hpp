// corio: asyncio for C++20. One include for the whole public surface.
#pragma once

#include "corio/async_generator.hpp"
#include "corio/async_with.hpp"
#include "corio/backend.hpp"
#include "corio/call_graph.hpp"
#include "corio/capture.hpp"
#include "corio/condition.hpp"
#include "corio/coro.hpp"
#include "corio/errors.hpp"
#include "corio/event.hpp"
#include "corio/event_loop.hpp"
#include "corio/future.hpp"
#include "corio/gather.hpp"
#include "corio/handle.hpp"
#include "corio/lock.hpp"
#include "corio/log.hpp"
#include "corio/outcome.hpp"
#include "corio/queue.hpp"
#include "corio/run.hpp"
#include "corio/semaphore.hpp"
#include "corio/shield.hpp"
#include "corio/sleep.hpp"
#include "corio/task.hpp"
#include "corio/task_group.hpp"
#include "corio/to_thread.hpp"
#include "corio/wait_for.hpp"
#include "corio/waker.hpp"
#if __has_include("corio/backends/libuv.hpp")
#include "corio/backends/libuv.hpp"
#endif
#if __has_include("corio/backends/browser.hpp")
#include "corio/backends/browser.hpp"
#endif
#include "corio/backends/virtual_time.hpp"
