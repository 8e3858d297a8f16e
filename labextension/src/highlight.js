// Go highlighting for `%%gorun` cells in notebooks of other languages (Python).
//
// JupyterLab gives every code cell the notebook's language (text/x-ipython in a
// Python notebook), so the Go under `%%gorun` was highlighted as Python. This plugin
// gives a code cell whose source starts with `%%gorun` the Go language (text/x-go,
// JupyterLab's own Go mode) and gives it back the notebook's language when the
// magic goes. A cell's language is editor state only: nothing is written to the
// notebook file. (jupyterlab-lsp highlights foreign cell magics the same way.)
import { INotebookTracker } from '@jupyterlab/notebook';

const MAGIC = /^%%gorun(\s|$)/;
const GO = 'text/x-go';

function follow(notebook) {
  const watched = new WeakSet();

  // The language a cell should have now: Go under the magic, else the notebook's.
  const update = (model) => {
    const wanted = MAGIC.test(model.sharedModel.getSource()) ? GO : notebook.codeMimetype;
    if (model.mimeType !== wanted) {
      model.mimeType = wanted;
    }
  };

  const watch = (model) => {
    if (model.type !== 'code' || watched.has(model)) {
      return;
    }
    watched.add(model);
    model.contentChanged.connect(() => update(model));
    // The notebook sets every cell's language when the kernel's language is known.
    model.mimeTypeChanged.connect(() => update(model));
    update(model);
  };

  const attach = () => {
    const cells = notebook.model?.cells;
    if (!cells) {
      return;
    }
    for (const model of cells) {
      watch(model);
    }
    cells.changed.connect(() => {
      for (const model of cells) {
        watch(model);
      }
    });
  };
  notebook.modelChanged.connect(attach);
  attach();
}

const plugin = {
  id: 'gorun-kernel:magic-highlight',
  description: 'Go highlighting for %%gorun cells.',
  autoStart: true,
  requires: [INotebookTracker],
  activate: (app, tracker) => {
    tracker.forEach((panel) => follow(panel.content));
    tracker.widgetAdded.connect((_, panel) => follow(panel.content));
  }
};

export default plugin;
