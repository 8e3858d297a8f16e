// Build errors marked in the editor: the lines a cell's last run failed at.
//
// The kernel puts them in the execute_reply's metadata, `gorun_errors`:
// [{line: 5, column: 3 or null, message: "undefined: y"}] (lines count from 1 as
// the cell shows them, columns from 0; gorun_kernel/frontends/marks.py). This
// plugin watches each notebook's kernel for its execute requests (JupyterLab sends
// the cell's id in their metadata) and their replies, and draws the marks in that
// cell's editor: the line tinted with a bar at its left edge, its text underlined
// from the column on, the message as the line's tooltip. They go when the cell
// runs again (or when the reply has none), and follow the text as it is edited.
import { INotebookTracker } from '@jupyterlab/notebook';
import { EditorExtensionRegistry, IEditorExtensionRegistry } from '@jupyterlab/codemirror';
import { StateEffect, StateField } from '@codemirror/state';
import { Decoration, EditorView } from '@codemirror/view';

export const KEY = 'gorun_errors';

const setMarks = StateEffect.define();

// The decorations for a list of marks in a document.
function decorate(doc, marks) {
  const ranges = [];
  for (const mark of marks) {
    if (!(mark.line >= 1 && mark.line <= doc.lines)) {
      continue;
    }
    const line = doc.line(mark.line);
    const attributes = { title: mark.message, 'data-gorun-error': mark.message };
    ranges.push(Decoration.line({ class: 'gorun-error-line', attributes }).range(line.from));
    // Underline from the column the error names (else the line's text), to the
    // line's end; an empty line has nothing to underline.
    const indent = /^\s*/.exec(line.text)[0].length;
    const column = Number.isInteger(mark.column) ? mark.column : indent;
    const from = line.from + Math.min(Math.max(column, 0), line.length);
    if (from < line.to) {
      ranges.push(Decoration.mark({ class: 'gorun-error-text' }).range(from, line.to));
    }
  }
  return Decoration.set(ranges, true);
}

const errorField = StateField.define({
  create: () => Decoration.none,
  update(value, tr) {
    value = value.map(tr.changes);
    for (const effect of tr.effects) {
      if (effect.is(setMarks)) {
        value = decorate(tr.state.doc, effect.value);
      }
    }
    return value;
  },
  provide: (field) => EditorView.decorations.from(field)
});

const theme = EditorView.baseTheme({
  '.gorun-error-line': {
    backgroundColor: 'rgba(207, 34, 46, 0.08)',
    boxShadow: 'inset 3px 0 0 var(--jp-error-color1, #d32f2f)'
  },
  '.gorun-error-text': {
    textDecoration: 'underline wavy var(--jp-error-color1, #d32f2f)',
    textDecorationSkipInk: 'none',
    textUnderlineOffset: '3px'
  }
});

// The marks a cell shows, kept for a cell whose editor is not drawn yet (a long
// notebook draws its cells as they scroll into view).
const pending = new WeakMap();

// Show marks in a cell's editor (an empty list clears them).
export function showMarks(cell, marks) {
  pending.set(cell.model, marks);
  const apply = () => {
    const view = cell.editor?.editor;
    if (view && view.state.field(errorField, false) !== undefined) {
      view.dispatch({ effects: setMarks.of(pending.get(cell.model) || []) });
    }
  };
  if (cell.editor) {
    apply();
  } else {
    cell.ready.then(apply);
  }
}

function follow(panel) {
  const requests = new Map(); // execute_request msg_id -> cell id
  const cellById = (id) => panel.content.widgets.find((c) => c.model.id === id);

  const onMessage = (_, { msg, direction }) => {
    const type = msg.header.msg_type;
    if (direction === 'send' && type === 'execute_request') {
      const id = msg.metadata?.cellId;
      if (id) {
        requests.set(msg.header.msg_id, id);
        const cell = cellById(id);
        if (cell) {
          showMarks(cell, []); // the next run clears the last one's marks
        }
      }
    } else if (direction === 'recv' && type === 'execute_reply') {
      const id = requests.get(msg.parent_header.msg_id);
      if (id !== undefined) {
        requests.delete(msg.parent_header.msg_id);
        const cell = cellById(id);
        if (cell) {
          showMarks(cell, msg.metadata?.[KEY] || []);
        }
      }
    }
  };

  let kernel = null;
  const attach = () => {
    if (kernel) {
      kernel.anyMessage.disconnect(onMessage);
    }
    kernel = panel.sessionContext.session?.kernel ?? null;
    if (kernel) {
      kernel.anyMessage.connect(onMessage);
    }
  };
  panel.sessionContext.kernelChanged.connect(attach);
  attach();
}

const plugin = {
  id: 'gorun-kernel:error-marks',
  description: 'Marks the lines of a cell\'s build errors in its editor.',
  autoStart: true,
  requires: [INotebookTracker, IEditorExtensionRegistry],
  activate: (app, tracker, registry) => {
    registry.addExtension({
      name: 'gorun-kernel:error-marks',
      factory: () => EditorExtensionRegistry.createImmutableExtension([errorField, theme])
    });
    tracker.forEach(follow);
    tracker.widgetAdded.connect((_, panel) => follow(panel));
  }
};

export default plugin;
