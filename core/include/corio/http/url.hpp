// URLs as the HTTP client needs them: parsing absolute http(s) URLs (InvalidURL for anything
// else), resolving a reference against a base (RFC 3986, for base_url and redirects), and
// encoding query parameters.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace corio::http {

struct Url {
    std::string scheme;  // "http" or "https"
    std::string host;    // a name, an IPv4 address, or an IPv6 address without brackets
    int port = 0;        // the scheme's default when the URL gives none
    std::string target;  // path and query: "/a/b?x=1" ("/" at least); no fragment

    // Parses an absolute http or https URL; InvalidURL (naming the URL) otherwise.
    static Url parse(std::string_view text);
    // `reference` resolved against this URL (RFC 3986 section 5.2): absolute URLs as they
    // are, "/x" on this host, "x" beside this path, "?q" on this path.
    Url resolve(std::string_view reference) const;

    std::string path() const;   // target without the query
    std::string query() const;  // after "?", without it
    bool default_port() const noexcept { return port == (scheme == "https" ? 443 : 80); }
    // "host" or "host:port" (brackets for IPv6), as the Host header and messages write it.
    std::string authority() const;
    // scheme://authority (what the origin check of a redirect compares).
    std::string origin() const;
    std::string to_string() const;
    bool operator==(const Url&) const = default;
};

// "a=1&b=x%20y": application/x-www-form-urlencoded as aiohttp encodes params (order kept,
// repeats allowed).
std::string encode_params(const std::vector<std::pair<std::string, std::string>>& params);
// Percent-encodes what a query component must not hold.
std::string percent_encode(std::string_view s);

}  // namespace corio::http
