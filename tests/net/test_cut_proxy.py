"""The cut-on-action proxy itself: it relays, and cuts as told (action delivered or not)."""
import pytest
import pytest_twisted
from twisted.internet import defer, protocol, reactor

from tests.e2e.harness import sleep
from tests.net.cut_proxy import DELIVER, DROP, CutProxy, listen


class Server(protocol.Protocol):
    def connectionMade(self):
        self.factory.received.append(b"")
        self.transport.write(b"Asterisk Call Manager/9.0.0\r\n")

    def dataReceived(self, data):
        self.factory.received[-1] += data
        self.transport.write(b"Response: Success\r\n\r\n")


class Client(protocol.Protocol):
    def connectionMade(self):
        self.factory.got, self.factory.lost = b"", defer.Deferred()
        self.factory.made.callback(self)

    def dataReceived(self, data):
        self.factory.got += data

    def connectionLost(self, reason=None):
        self.factory.lost.callback(None)


@pytest.mark.parametrize("mode", [DELIVER, DROP])
@pytest_twisted.ensureDeferred
async def test_the_proxy_cuts_on_the_chosen_action(mode):
    server = protocol.Factory.forProtocol(Server)
    server.received = []
    server_port = reactor.listenTCP(0, server, interface="127.0.0.1")
    proxy = CutProxy("127.0.0.1", server_port.getHost().port, "Redirect", mode, down_for=5)
    proxy_port = listen(proxy)
    client = protocol.ClientFactory.forProtocol(Client)
    client.made = defer.Deferred()
    try:
        reactor.connectTCP("127.0.0.1", proxy_port.getHost().port, client)
        link = await client.made
        link.transport.write(b"Action: Ping\r\nActionID: 1\r\n\r\n")
        await sleep(0.2)
        assert client.got.startswith(b"Asterisk Call Manager") and b"Response" in client.got
        proxy.cut()
        before = len(client.got)
        link.transport.write(b"Action: Redirect\r\nChannel: PJSIP/trunk-1\r\nActionID: 2\r\n\r\n"
                             b"Action: Ping\r\nActionID: 3\r\n\r\n")
        await client.lost
        await sleep(0.2)
        assert len(client.got) == before                # no answer reached the client
        delivered = b"Action: Redirect" in server.received[0]
        assert delivered is (mode == DELIVER) and b"ActionID: 3" not in server.received[0]
        client.made = defer.Deferred()
        reactor.connectTCP("127.0.0.1", proxy_port.getHost().port, client)
        await client.lost                                # refused while the outage lasts
        assert len(server.received) == 1 and len(proxy.cuts) == 1
    finally:
        await proxy_port.stopListening()
        await server_port.stopListening()
