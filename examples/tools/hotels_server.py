"""The server of hotels_api.yaml: fixed hotels, bookings kept in memory, standard library only.

    python examples/tools/hotels_server.py 8731     # serves http://127.0.0.1:8731 (port 0: any free port)

It prints `listening on http://127.0.0.1:PORT` once it accepts requests. Every answer is deterministic: a
booking's id is derived from its hotel, guest and stay, so booking the same stay twice gives the same booking.
"""

from __future__ import annotations

import hashlib
import json
import sys
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

HOTELS: list[dict[str, Any]] = [
    {"hotel_id": "lis-01", "name": "Casa do Tejo", "city": "Lisbon", "stars": 4, "price_per_night": 128.0,
     "amenities": ["wifi", "breakfast", "river view"]},
    {"hotel_id": "lis-02", "name": "Alfama Rooms", "city": "Lisbon", "stars": 3, "price_per_night": 79.0,
     "amenities": ["wifi"]},
    {"hotel_id": "tor-01", "name": "Harbourfront Suites", "city": "Toronto", "stars": 4, "price_per_night": 189.0,
     "amenities": ["wifi", "gym", "parking"]},
    {"hotel_id": "tor-02", "name": "Kensington Inn", "city": "Toronto", "stars": 2, "price_per_night": 95.0,
     "amenities": ["wifi", "breakfast"]},
    {"hotel_id": "tyo-01", "name": "Shinjuku Garden Hotel", "city": "Tokyo", "stars": 5, "price_per_night": 310.0,
     "amenities": ["wifi", "spa", "breakfast", "gym"]},
]  # fmt: skip
BOOKINGS: dict[str, dict[str, Any]] = {}


class HotelsHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.strip("/").split("/")]
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if parts == ["hotels"]:
            self.search(query)
        elif len(parts) == 2 and parts[0] == "hotels":
            self.found(find_hotel(parts[1]), f"no hotel {parts[1]!r}")
        elif len(parts) == 2 and parts[0] == "bookings":
            self.found(BOOKINGS.get(parts[1]), f"no booking {parts[1]!r}")
        else:
            self.reply(404, {"error": f"no such path {url.path!r}"})

    def do_POST(self) -> None:
        if urlsplit(self.path).path.rstrip("/") != "/bookings":
            return self.reply(404, {"error": f"no such path {self.path!r}"})
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"null")
            hotel_id, guest, stay = body["hotel_id"], body["guest"], body["stay"]
            name, check_in, nights = str(guest["name"]), date.fromisoformat(stay["check_in"]), int(stay["nights"])
        except (ValueError, KeyError, TypeError) as exc:
            return self.reply(422, {"error": f"bad booking request: {type(exc).__name__}: {exc}"})
        if not 1 <= nights <= 30:
            return self.reply(422, {"error": "nights must be between 1 and 30"})
        hotel = find_hotel(hotel_id)
        if hotel is None:
            return self.reply(404, {"error": f"no hotel {hotel_id!r}"})
        key = json.dumps([hotel_id, guest, stay], sort_keys=True).encode()
        booking = {
            "booking_id": "BK-" + hashlib.sha256(key).hexdigest()[:6],
            "hotel_id": hotel_id,
            "guest_name": name,
            "check_in": check_in.isoformat(),
            "nights": nights,
            "total_price": round(hotel["price_per_night"] * nights, 2),
            "status": "confirmed",
        }
        BOOKINGS[booking["booking_id"]] = booking
        self.reply(201, booking)

    def search(self, query: dict[str, str]) -> None:
        city = query.get("city", "").strip().lower()
        if not city:
            return self.reply(400, {"error": "the query parameter 'city' is required"})
        try:
            max_price = float(query.get("max_price", "inf"))
        except ValueError:
            return self.reply(400, {"error": f"max_price {query['max_price']!r} is not a number"})
        found = [h for h in HOTELS if h["city"].lower() == city and h["price_per_night"] <= max_price]
        self.reply(200, {"city": query["city"], "hotels": sorted(found, key=lambda h: h["price_per_night"])})

    def found(self, item: dict[str, Any] | None, missing: str) -> None:
        if item is None:
            self.reply(404, {"error": missing})
        else:
            self.reply(200, item)

    def reply(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: no line per request on stderr."""


def find_hotel(hotel_id: str) -> dict[str, Any] | None:
    return next((h for h in HOTELS if h["hotel_id"] == hotel_id), None)


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8731
    server = ThreadingHTTPServer(("127.0.0.1", port), HotelsHandler)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
