// Stands in for the `ws` package in the browser bundle: browsers have WebSocket.
export const WebSocket = globalThis.WebSocket;
export default WebSocket;
