// Room relay on Socket.IO, written as its users would: authenticate in the
// connect handshake, `join` a room, and relay `msg` events to the others with
// `socket.to(room).emit`. Used by `make bench` as a peer to Corkboard's signals.
'use strict';
const http = require('http');
const { Server } = require('socket.io');

const PORT = Number(process.env.PORT || 8091);
const HOST = process.env.HOST || '127.0.0.1';
const TOKEN = process.env.BENCH_TOKEN || 'bench';

const server = http.createServer();
const io = new Server(server, { serveClient: false, perMessageDeflate: false });

io.use((socket, next) => {
  if (socket.handshake.auth && socket.handshake.auth.token === TOKEN) return next();
  next(new Error('unauthorized'));
});

io.on('connection', (socket) => {
  socket.on('join', (room) => {
    socket.join(room);
    socket.data.room = room;
    socket.emit('joined', room);
  });
  socket.on('msg', (payload) => {
    if (socket.data.room !== undefined) socket.to(socket.data.room).emit('msg', payload);
  });
});

server.listen(PORT, HOST, () => console.log(`listening ${PORT}`));
