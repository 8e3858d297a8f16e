// The gorun-kernel JupyterLab extension (shipped prebuilt: labextension/prebuilt/).
//
// - highlight.js: Go highlighting for %%gorun cells of Python notebooks;
// - marks.js: the lines of a cell's last build errors, marked in its editor;
// - format.js: "Format Go cell" (gofmt, asked of the kernel), in the cell's
//   context menu and on Alt-Shift-F.
import highlight from './highlight';
import format from './format';
import marks from './marks';

export default [highlight, marks, format];
