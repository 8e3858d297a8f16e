// "Format Go cell": the cell's Go as gofmt formats it, asked of the kernel.
//
// The kernel formats (gorun_kernel/frontends/cellformat.py, help/gofmt.py): it
// has the toolchain's gofmt, and it knows a snippet cell (declarations and
// statements mixed, header lines such as %%gotest) which gofmt alone cannot read.
// The command sends the cell as a silent, unstored execution of `%fmt` (what a
// console user types): no execution count, no history entry, no output in the
// notebook; the formatted text comes back as the reply's payload
// {source: "gorun_format", text}. A cell that does not parse is left as it is:
// the error is shown in a notification and its line marked in the editor.
import { INotebookTracker } from '@jupyterlab/notebook';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { KEY, showMarks } from './marks';

const COMMAND = 'gorun-kernel:format-cell';
const PAYLOAD = 'gorun_format';

// The notebook's active code cell, when its kernel is Go.
function goCell(tracker) {
  const panel = tracker.currentWidget;
  const cell = panel?.content.activeCell;
  if (!panel || !cell || cell.model.type !== 'code' || panel.content.codeMimetype !== 'text/x-go') {
    return null;
  }
  return { panel, cell };
}

async function formatCell(tracker) {
  const found = goCell(tracker);
  if (!found) {
    return;
  }
  const { panel, cell } = found;
  const kernel = panel.sessionContext.session?.kernel;
  if (!kernel) {
    Notification.warning('Format Go cell: the notebook has no kernel', { autoClose: 5000 });
    return;
  }
  const source = cell.model.sharedModel.getSource();
  if (!source.trim()) {
    return;
  }
  const reply = await kernel.requestExecute({
    code: '%fmt\n' + source,
    silent: true,
    store_history: false,
    allow_stdin: false,
    stop_on_error: false
  }).done;
  const content = reply.content;
  if (content.status !== 'ok') {
    showMarks(cell, reply.metadata?.[KEY] || []);
    const message = `${content.ename}: ${content.evalue}`;
    Notification.error(`Format Go cell: ${message} (the cell is left as it is)`, {
      autoClose: 8000
    });
    return;
  }
  const text = (content.payload || []).find((p) => p.source === PAYLOAD)?.text;
  if (typeof text !== 'string') {
    Notification.error('Format Go cell: the kernel sent no formatted text', { autoClose: 8000 });
    return;
  }
  if (cell.model.sharedModel.getSource() !== source) {
    // Typed into while the kernel was formatting: the typing wins.
    Notification.warning('Format Go cell: the cell changed meanwhile; format it again', {
      autoClose: 5000
    });
    return;
  }
  if (text !== source) {
    cell.model.sharedModel.setSource(text); // one edit: Undo gives the cell back
  }
}

const plugin = {
  id: 'gorun-kernel:format-cell',
  description: 'Format Go cell: gofmt, asked of the Go (gorun) kernel.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette],
  activate: (app, tracker, palette) => {
    app.commands.addCommand(COMMAND, {
      label: 'Format Go cell',
      caption: 'Format the cell with gofmt (the Go kernel formats it)',
      isEnabled: () => goCell(tracker) !== null,
      isVisible: () => goCell(tracker) !== null,
      execute: () => formatCell(tracker)
    });
    app.contextMenu.addItem({ command: COMMAND, selector: '.jp-Notebook .jp-CodeCell', rank: 30 });
    app.commands.addKeyBinding({ command: COMMAND, keys: ['Alt Shift F'], selector: '.jp-Notebook' });
    palette?.addItem({ command: COMMAND, category: 'Notebook Cell Operations' });
  }
};

export default plugin;
