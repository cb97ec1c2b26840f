// main.cpp: the C API through the RAII layer in include/kimberlite.hpp. Every handle and result is freed
// by a destructor, also when an exception unwinds.
//
//   c++ -std=c++17 main.cpp $(pkg-config --cflags --libs kimberlite) -o raii
//   ./raii 127.0.0.1:5432
#include <kimberlite.hpp>

#include <iostream>

int main(int argc, char **argv) {
    const std::string addr = argc > 1 ? argv[1] : "127.0.0.1:5432";
    try {
        kimberlite::Client client(kimberlite::Config().address(addr).request_timeout_ms(10000));
        client.ping();
        uint64_t stream = client.create_stream("cpp-raii-example");
        uint64_t first = client.append(stream, {"hello", "from", "C++"});
        std::cout << "appended at offset " << first << "\n";

        // Optimistic concurrency: a stale expected offset is refused, and the error says why.
        try {
            uint64_t stale = first;
            client.append(stream, {"late"}, &stale);
            std::cerr << "stale append was accepted\n";
            return 1;
        } catch (const kimberlite::Error &e) {
            std::cout << "stale append refused: " << kmb_status_name(e.status()) << " (server code "
                      << e.server_code() << ")\n";
            if (e.status() != KMB_ERR_OFFSET_MISMATCH) return 1;
        }

        for (uint64_t from = first;;) {
            kimberlite::Events page = client.read(stream, from, 16);
            for (size_t i = 0; i < page.size(); i++)
                std::cout << "  " << page.offset(i) << ": " << page.data(i) << "\n";
            from = page.next_offset();
            if (!page.has_more()) break;
        }
        std::cout << "length " << client.stream_length(stream) << "\n";

        // Follow the stream: every event once, in order; a timeout only means nothing new came.
        {
            kimberlite::Subscription sub = client.subscribe(stream, first);
            uint64_t seen = 0;
            while (seen < 3) {
                std::optional<kimberlite::Events> batch = sub.next(10000);
                if (!batch) break;
                seen += batch->size();
            }
            std::cout << "subscription delivered " << seen << " events; then "
                      << (sub.next(100) ? "more" : "a timeout") << "\n";
            sub.close();
            std::cout << "closed: " << sub.close_reason() << "\n";
            if (seen != 3) return 1;
        }  // the destructor frees it
        client.close();  // or let the destructor do it
    } catch (const kimberlite::Error &e) {
        std::cerr << "kimberlite: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
