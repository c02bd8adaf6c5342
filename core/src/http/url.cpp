// URL parsing and resolution for the HTTP client (RFC 3986, the parts http(s) uses).
#include "corio/http/url.hpp"

#include <fmt/format.h>

#include <cctype>

#include "corio/http/errors.hpp"

namespace corio::http {

namespace {

[[noreturn]] void invalid(std::string_view text, const char* why) {
    throw InvalidURL(fmt::format("invalid URL '{}': {}", text, why));
}

bool scheme_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.'; }

// RFC 3986 5.2.4: removes "." and ".." segments.
std::string remove_dot_segments(std::string_view path) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    const bool absolute = !path.empty() && path[0] == '/';
    if (absolute) i = 1;
    bool trailing = false;
    while (i <= path.size()) {
        std::size_t j = path.find('/', i);
        if (j == std::string_view::npos) j = path.size();
        std::string_view seg = path.substr(i, j - i);
        trailing = false;
        if (seg == "..") {
            if (!out.empty()) out.pop_back();
            trailing = true;
        } else if (seg == ".") {
            trailing = true;
        } else {
            out.push_back(seg);
        }
        i = j + 1;
    }
    std::string s = absolute ? "/" : "";
    for (std::size_t k = 0; k < out.size(); ++k) {
        if (k) s += '/';
        s += out[k];
    }
    if (trailing && !s.empty() && s.back() != '/') s += '/';
    return s.empty() ? "/" : s;
}

}  // namespace

Url Url::parse(std::string_view text) {
    const auto colon = text.find(':');
    if (colon == std::string_view::npos || colon == 0) invalid(text, "no scheme (http:// or https://)");
    std::string scheme;
    for (char c : text.substr(0, colon)) {
        if (!scheme_char(c)) invalid(text, "no scheme (http:// or https://)");
        scheme += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (scheme != "http" && scheme != "https")
        throw InvalidURL(fmt::format("invalid URL '{}': the scheme '{}' is not http or https", text, scheme));
    std::string_view rest = text.substr(colon + 1);
    if (rest.substr(0, 2) != "//") invalid(text, "no host (expected scheme://host)");
    rest.remove_prefix(2);
    const auto end_auth = rest.find_first_of("/?#");
    std::string_view auth = rest.substr(0, end_auth);
    std::string_view tail = end_auth == std::string_view::npos ? std::string_view() : rest.substr(end_auth);
    if (auth.find('@') != std::string_view::npos) auth = auth.substr(auth.rfind('@') + 1);  // userinfo: ignored
    Url u;
    u.scheme = scheme;
    u.port = scheme == "https" ? 443 : 80;
    std::string_view port_text;
    if (!auth.empty() && auth[0] == '[') {
        const auto close = auth.find(']');
        if (close == std::string_view::npos) invalid(text, "an IPv6 host without its closing ']'");
        u.host = std::string(auth.substr(1, close - 1));
        std::string_view after = auth.substr(close + 1);
        if (!after.empty()) {
            if (after[0] != ':') invalid(text, "junk after the IPv6 host");
            port_text = after.substr(1);
        }
    } else {
        const auto pc = auth.rfind(':');
        if (pc != std::string_view::npos) {
            u.host = std::string(auth.substr(0, pc));
            port_text = auth.substr(pc + 1);
        } else {
            u.host = std::string(auth);
        }
    }
    if (u.host.empty()) invalid(text, "no host");
    for (char c : u.host)
        if (static_cast<unsigned char>(c) <= ' ' || c == '/' || c == '\\') invalid(text, "a space or a control character in the host");
    for (char& c : u.host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!port_text.empty()) {
        int p = 0;
        for (char c : port_text) {
            if (!std::isdigit(static_cast<unsigned char>(c))) invalid(text, "the port is not a number");
            p = p * 10 + (c - '0');
            if (p > 65535) invalid(text, "the port is above 65535");
        }
        if (p == 0) invalid(text, "port 0");
        u.port = p;
    }
    const auto hash = tail.find('#');
    if (hash != std::string_view::npos) tail = tail.substr(0, hash);
    for (char c : tail)
        if (static_cast<unsigned char>(c) <= ' ') invalid(text, "a space or a control character in the path (percent-encode it)");
    u.target = tail.empty() ? "/" : (tail[0] == '?' ? "/" + std::string(tail) : std::string(tail));
    return u;
}

Url Url::resolve(std::string_view ref) const {
    const auto colon = ref.find(':');
    const auto first_special = ref.find_first_of("/?#");
    if (colon != std::string_view::npos && colon > 0 && (first_special == std::string_view::npos || colon < first_special))
        return parse(ref);  // absolute
    if (ref.substr(0, 2) == "//") return parse(scheme + ":" + std::string(ref));
    Url u = *this;
    const auto hash = ref.find('#');
    if (hash != std::string_view::npos) ref = ref.substr(0, hash);
    if (ref.empty()) return u;
    if (ref[0] == '?') {
        u.target = path() + std::string(ref);
        return u;
    }
    std::string_view ref_path = ref, ref_query;
    const auto q = ref.find('?');
    if (q != std::string_view::npos) {
        ref_path = ref.substr(0, q);
        ref_query = ref.substr(q);
    }
    std::string merged;
    if (!ref_path.empty() && ref_path[0] == '/') {
        merged = std::string(ref_path);
    } else {
        const std::string base = path();
        merged = base.substr(0, base.rfind('/') + 1) + std::string(ref_path);
    }
    u.target = remove_dot_segments(merged) + std::string(ref_query);
    return u;
}

std::string Url::path() const {
    const auto q = target.find('?');
    return q == std::string::npos ? target : target.substr(0, q);
}

std::string Url::query() const {
    const auto q = target.find('?');
    return q == std::string::npos ? std::string() : target.substr(q + 1);
}

std::string Url::authority() const {
    const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    return default_port() ? h : fmt::format("{}:{}", h, port);
}

std::string Url::origin() const { return scheme + "://" + authority(); }

std::string Url::to_string() const { return origin() + target; }

std::string percent_encode(std::string_view s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

std::string encode_params(const std::vector<std::pair<std::string, std::string>>& params) {
    std::string out;
    for (const auto& [k, v] : params) {
        if (!out.empty()) out += '&';
        out += percent_encode(k);
        out += '=';
        out += percent_encode(v);
    }
    return out;
}

}  // namespace corio::http
