/**
 * Tags the browser code the parts in this folder hold: raw, so a regular expression's backslashes
 * reach the browser as typed (`\d`, not `d`). The code itself uses no template literals.
 */
export const js = String.raw;
