// Room relay on the `ws` library, written as its users would: clients join a
// room with `join <room>` and every other text frame is sent to the other
// members of that room. Used by `make bench` as a peer to Corkboard's signals.
'use strict';
const http = require('http');
const { WebSocketServer, WebSocket } = require('ws');

const PORT = Number(process.env.PORT || 8090);
const HOST = process.env.HOST || '127.0.0.1';
const TOKEN = process.env.BENCH_TOKEN || 'bench';

/** Room name → set of sockets in it. */
const rooms = new Map();

const server = http.createServer((req, res) => {
  res.writeHead(404);
  res.end();
});
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });

// Authenticate before the upgrade, as Corkboard does.
server.on('upgrade', (req, socket, head) => {
  const url = new URL(req.url, 'http://relay');
  if (url.searchParams.get('token') !== TOKEN) {
    socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws));
});

wss.on('connection', (ws) => {
  let room = null;
  ws.on('message', (data, isBinary) => {
    if (room === null) {
      const text = data.toString();
      if (!text.startsWith('join ')) return ws.close(1008, 'join first');
      room = text.slice(5);
      if (!rooms.has(room)) rooms.set(room, new Set());
      rooms.get(room).add(ws);
      ws.send(`joined ${room}`);
      return;
    }
    for (const peer of rooms.get(room)) {
      if (peer !== ws && peer.readyState === WebSocket.OPEN) peer.send(data, { binary: isBinary });
    }
  });
  ws.on('close', () => {
    if (room === null) return;
    const members = rooms.get(room);
    members.delete(ws);
    if (members.size === 0) rooms.delete(room);
  });
});

server.listen(PORT, HOST, () => console.log(`listening ${PORT}`));
