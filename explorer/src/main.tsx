import { render } from 'preact';
import { App } from './components/App.js';
import { connect } from './connection.js';
import './styles.css';

// Connect before the first render: effects run a frame later, the socket need not wait.
const connection = connect(location);
render(<App connection={connection} />, document.getElementById('app')!);
