// kimberlite.hpp: a small header-only C++17 RAII layer over the C API (include/kimberlite.h).
// Handles and results are owned by objects that free them in their destructors; a non-OK status
// becomes a kimberlite::Error carrying the status, its name, the server code and the message.
#pragma once

#include <kimberlite.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kimberlite {

// Error is thrown for every non-OK status, with this thread's last error.
class Error : public std::runtime_error {
public:
    explicit Error(kmb_status_t status)
        : std::runtime_error(std::string(kmb_status_name(status)) + ": " + kmb_last_error_message()),
          status_(status), server_code_(kmb_last_error_server_code()) {}
    kmb_status_t status() const noexcept { return status_; }
    int32_t server_code() const noexcept { return server_code_; }
    bool retryable() const noexcept { return kmb_status_is_retryable(status_) != 0; }

private:
    kmb_status_t status_;
    int32_t server_code_;
};

inline void check(kmb_status_t st) {
    if (st != KMB_OK) throw Error(st);
}

// Config owns a kmb_config_t.
class Config {
public:
    Config() {
        kmb_config_t *c = nullptr;
        check(kmb_config_new(&c));
        cfg_.reset(c);
    }
    Config &address(const std::string &host_port) {
        check(kmb_config_add_address(cfg_.get(), host_port.c_str()));
        return *this;
    }
    Config &tenant(uint64_t id) {
        check(kmb_config_set_tenant(cfg_.get(), id));
        return *this;
    }
    Config &request_timeout_ms(uint64_t ms) {
        check(kmb_config_set_request_timeout_ms(cfg_.get(), ms));
        return *this;
    }
    const kmb_config_t *get() const noexcept { return cfg_.get(); }

private:
    struct Free {
        void operator()(kmb_config_t *c) const noexcept { kmb_config_free(c); }
    };
    std::unique_ptr<kmb_config_t, Free> cfg_;
};

// Events owns a kmb_events_t from a read.
class Events {
public:
    explicit Events(kmb_events_t *e) : ev_(e) {}
    size_t size() const noexcept { return ev_->count; }
    std::string_view data(size_t i) const {
        return {reinterpret_cast<const char *>(ev_->data[i]), ev_->lengths[i]};
    }
    uint64_t offset(size_t i) const noexcept { return ev_->offsets[i]; }
    uint64_t next_offset() const noexcept { return ev_->next_offset; }
    bool has_more() const noexcept { return ev_->has_more != 0; }

private:
    struct Free {
        void operator()(kmb_events_t *e) const noexcept { kmb_events_free(e); }
    };
    std::unique_ptr<kmb_events_t, Free> ev_;
};

// Subscription owns a kmb_subscription_t (Client::subscribe); its destructor unsubscribes and frees
// it. One thread at a time calls next(); close() from another thread wakes it.
class Subscription {
public:
    explicit Subscription(kmb_subscription_t *s) : sub_(s) {}
    // next returns the next batch (offsets in order, each event once), or nullopt when timeout_ms
    // passed first (the subscription goes on). Throws Error (KMB_ERR_SUBSCRIPTION_CLOSED...) once
    // it is closed.
    std::optional<Events> next(uint64_t timeout_ms = KMB_NO_TIMEOUT) {
        kmb_events_t *e = nullptr;
        kmb_status_t st = kmb_subscription_next(sub_.get(), timeout_ms, &e);
        if (st == KMB_ERR_TIMEOUT) return std::nullopt;
        check(st);
        return Events(e);
    }
    void grant_credits(uint32_t n) { check(kmb_subscription_grant_credits(sub_.get(), n)); }
    uint64_t next_offset() const {
        uint64_t v = 0;
        check(kmb_subscription_next_offset(sub_.get(), &v));
        return v;
    }
    // close_reason is "" while open, else the protocol's name ("ClientCancelled"...).
    std::string close_reason() const {
        char *s = nullptr;
        check(kmb_subscription_close_reason(sub_.get(), &s));
        std::string out(s);
        kmb_string_free(s);
        return out;
    }
    void close() { check(kmb_subscription_close(sub_.get())); }

private:
    struct Free {
        void operator()(kmb_subscription_t *s) const noexcept { kmb_subscription_free(s); }
    };
    std::unique_ptr<kmb_subscription_t, Free> sub_;
};

// Client owns a connection pool; it is closed by its destructor (or close()). Safe to share
// between threads, like the kmb_client_t it holds; movable, not copyable.
class Client {
public:
    explicit Client(const Config &cfg) { check(kmb_client_connect(cfg.get(), &c_)); }
    Client(const Client &) = delete;
    Client &operator=(const Client &) = delete;
    Client(Client &&o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
    Client &operator=(Client &&o) noexcept {
        if (this != &o) {
            close_quietly();
            c_ = std::exchange(o.c_, nullptr);
        }
        return *this;
    }
    ~Client() { close_quietly(); }

    void close() {
        if (c_ != nullptr) check(kmb_client_close(std::exchange(c_, nullptr)));
    }
    uint64_t create_stream(const std::string &name, int32_t data_class = KMB_DATA_CLASS_NON_PHI) {
        uint64_t id = 0;
        check(kmb_create_stream(c_, name.c_str(), data_class, &id));
        return id;
    }
    // append sends the batch at the end of the stream (or at *expected) and returns the first offset.
    uint64_t append(uint64_t stream, const std::vector<std::string> &events,
                    const uint64_t *expected = nullptr) {
        std::vector<const uint8_t *> ptrs;
        std::vector<size_t> lens;
        for (const auto &e : events) {
            ptrs.push_back(reinterpret_cast<const uint8_t *>(e.data()));
            lens.push_back(e.size());
        }
        uint64_t first = 0;
        check(kmb_append(c_, stream, ptrs.data(), lens.data(), events.size(), expected, &first));
        return first;
    }
    Events read(uint64_t stream, uint64_t from, uint64_t max_bytes = 0) {
        kmb_events_t *e = nullptr;
        check(kmb_read(c_, stream, from, max_bytes, &e));
        return Events(e);
    }
    uint64_t stream_length(uint64_t stream) {
        uint64_t n = 0;
        check(kmb_stream_length(c_, stream, &n));
        return n;
    }
    void ping() { check(kmb_ping(c_)); }
    // subscribe follows a stream from `from` (credits, low_water, refill: 0 takes the defaults).
    Subscription subscribe(uint64_t stream, uint64_t from = 0, uint32_t credits = 0,
                           uint32_t low_water = 0, uint32_t refill = 0) {
        kmb_subscription_t *s = nullptr;
        check(kmb_subscribe(c_, stream, from, credits, low_water, refill, &s));
        return Subscription(s);
    }

private:
    void close_quietly() noexcept {
        if (c_ != nullptr) kmb_client_close(std::exchange(c_, nullptr));
    }
    kmb_client_t *c_ = nullptr;
};

}  // namespace kimberlite
