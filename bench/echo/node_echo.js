// The echo benchmark's Node.js server: net.createServer, every chunk written straight back.
// Serves 127.0.0.1:PORT until killed.
//
//   node node_echo.js PORT
'use strict';
const net = require('net');

const port = Number(process.argv[2]);
if (!port) {
  console.error('usage: node node_echo.js PORT');
  process.exit(2);
}
const server = net.createServer({ noDelay: true }, (s) => {
  s.setNoDelay(true);
  s.on('error', () => {});  // a reset by the peer ends the connection, nothing more
  s.on('data', (d) => s.write(d));
});
server.listen(port, '127.0.0.1', () => console.log(`node_echo: serving on 127.0.0.1:${port}`));
