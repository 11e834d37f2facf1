"""A DNS server on loopback (UDP) whose answers a test or benchmark sets: for the bot's proof-image
look-ups (GIGDESK_PROOF_DNS). Answers change from one query to the next (TTL 0), as a rebinding
attacker's server does, and a name can be made to go unanswered (a silent name server).

    dns = DnsStandin()
    dns.answer("img.example.test", ["93.184.216.34"], ["127.0.0.1"])  # first query, then every later one
    dns.silence("slow.example.test")
    dns.start()  # -> (host, port)
"""

from __future__ import annotations

import socket
import threading


class DnsStandin:
    def __init__(self) -> None:
        self._answers: dict[str, list[list[str]]] = {}
        self._silent: set[str] = set()
        self.queries: list[tuple[str, str]] = []  # (name, type) in the order asked
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def answer(self, name: str, *answers: list[str]) -> None:
        """Each query of `name` gets the next answer (addresses, A and AAAA); the last one repeats."""
        with self._lock:
            self._answers[name.lower().rstrip(".")] = [list(a) for a in answers]

    def silence(self, name: str) -> None:
        with self._lock:
            self._silent.add(name.lower().rstrip("."))

    def asked(self, name: str) -> int:
        with self._lock:
            return sum(1 for n, _ in self.queries if n == name.lower().rstrip("."))

    def start(self) -> tuple[str, int]:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._thread = threading.Thread(target=self._serve, name="dns-standin", daemon=True)
        self._thread.start()
        return self._sock.getsockname()

    def stop(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def _serve(self) -> None:
        while self._sock is not None:
            try:
                data, peer = self._sock.recvfrom(4096)
            except OSError:
                return
            reply = self._reply(data)
            if reply is not None and self._sock is not None:
                try:
                    self._sock.sendto(reply, peer)
                except OSError:
                    return

    def _reply(self, data: bytes) -> bytes | None:
        import dns.message
        import dns.rcode
        import dns.rdatatype
        import dns.rrset

        try:
            query = dns.message.from_wire(data)
        except Exception:
            return None
        question = query.question[0]
        name = question.name.to_text().lower().rstrip(".")
        kind = dns.rdatatype.to_text(question.rdtype)
        response = dns.message.make_response(query)
        with self._lock:
            self.queries.append((name, kind))
            if name in self._silent:
                return None
            answers = self._answers.get(name)
            if answers is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
                return response.to_wire()
            if kind == "A":  # A queries move on to the next answer; AAAA reads the same one
                answer = answers[0] if len(answers) == 1 else answers.pop(0)
            else:
                answer = answers[0]
        wanted = [a for a in answer if (":" in a) == (kind == "AAAA")]
        if wanted and kind in ("A", "AAAA"):
            response.answer.append(dns.rrset.from_text(question.name, 0, "IN", kind, *wanted))
        return response.to_wire()
