// Every WebSocket upgrade gets an answer. Node hands an upgrade request to every "upgrade" listener
// and, when a listener exists, nothing else answers it: a path nobody serves would otherwise keep its
// socket open forever (and a shutdown waiting on it). The agent channel and the gateway proxy claim
// the requests they take; the last listener answers the rest with 404 and closes them, and sockets
// that are still waiting for their handler when the server closes are closed with it.
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";

const claimed = new WeakSet<IncomingMessage>();

/** Marks an upgrade request as taken by a handler (call synchronously, in its "upgrade" listener). */
export function claimUpgrade(req: IncomingMessage): void {
  claimed.add(req);
}

/**
 * Answers upgrade requests no handler claimed (404, connection closed), and destroys every upgrade
 * socket still open when `close` runs. Attach after every other "upgrade" listener.
 */
export function answerUnclaimedUpgrades(server: Server): { closeAll(): void } {
  const open = new Set<Duplex>();
  server.on("upgrade", (req: IncomingMessage, socket: Duplex) => {
    if (claimed.has(req)) {
      // Until it is upgraded or answered: a shutdown must not wait for it.
      open.add(socket);
      socket.once("close", () => open.delete(socket));
      return;
    }
    const body = JSON.stringify({ error: { code: "not_found", message: "nothing accepts a WebSocket here" } });
    socket.on("error", () => {});
    socket.end(
      `HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    setTimeout(() => socket.destroy(), 1000).unref();
  });
  return {
    closeAll() {
      for (const s of open) s.destroy();
      open.clear();
    },
  };
}
