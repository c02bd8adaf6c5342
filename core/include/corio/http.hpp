// The HTTP client, aiohttp's ClientSession (a separate include: it brings nlohmann/json).
#pragma once

#include "corio/http/client_session.hpp"
#include "corio/http/errors.hpp"
#include "corio/http/headers.hpp"
#include "corio/http/response.hpp"
#include "corio/http/url.hpp"
