// A tiny local notes service for examples/extensions/notes.json: GET /notes and
// GET /notes/<id>, JSON, behind a bearer token ($NOTES_TOKEN, default "dev-token").
// Run: node examples/extensions/notes-service.mjs  (listens on 127.0.0.1:4555, or $PORT)
import { createServer } from 'node:http';

const token = process.env.NOTES_TOKEN ?? 'dev-token';
const notes = new Map([
  ['1', { id: '1', title: 'Shopping', text: 'milk, bread' }],
  ['2', { id: '2', title: 'Ideas', text: 'a hub for everything' }],
]);

const server = createServer((req, res) => {
  const send = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.headers.authorization !== `Bearer ${token}`) return send(401, { error: 'a bearer token is required' });
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method === 'GET' && url.pathname === '/notes')
    return send(
      200,
      [...notes.values()].map(({ id, title }) => ({ id, title })),
    );
  const one = /^\/notes\/([^/]+)$/.exec(url.pathname);
  if (req.method === 'GET' && one) {
    const note = notes.get(decodeURIComponent(one[1]));
    return note ? send(200, note) : send(404, { error: `no note ${one[1]}` });
  }
  send(404, { error: 'not found' });
});

server.listen(Number(process.env.PORT ?? 4555), '127.0.0.1', () => {
  console.log(`notes service on http://127.0.0.1:${server.address().port}`);
});
