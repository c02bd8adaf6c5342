// corio: asyncio for C++20. One include for the whole public surface.
#pragma once

#include "corio/backend.hpp"
#include "corio/coro.hpp"
#include "corio/errors.hpp"
#include "corio/event_loop.hpp"
#include "corio/future.hpp"
#include "corio/gather.hpp"
#include "corio/handle.hpp"
#include "corio/log.hpp"
#include "corio/outcome.hpp"
#include "corio/run.hpp"
#include "corio/shield.hpp"
#include "corio/sleep.hpp"
#include "corio/task.hpp"
#include "corio/task_group.hpp"
#include "corio/wait_for.hpp"
#if __has_include("corio/backends/libuv.hpp")
#include "corio/backends/libuv.hpp"
#endif
#if __has_include("corio/backends/browser.hpp")
#include "corio/backends/browser.hpp"
#endif
#include "corio/backends/virtual_time.hpp"
