/** Vite's raw imports: a file's text (tests check constants against wrangler.toml with them). */
declare module "*?raw" {
  const text: string;
  export default text;
}
