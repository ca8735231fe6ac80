// 3D models on a page: load the vendored <model-viewer> (an ES module of about 1 MB,
// three.js included) only when a page has one, on first load and after Material's
// instant navigation alike. The custom element is defined once.
(() => {
  const moduleUrl = new URL("../assets/vendor/model-viewer/model-viewer.min.js", document.currentScript.src).href;
  let loading = null;
  const load = () => {
    loading = loading || import(moduleUrl).then((module) => {
      // Never fetch decoders from a CDN: the atlas's models are plain, uncompressed GLB.
      const viewer = module.ModelViewerElement;
      viewer.dracoDecoderLocation = new URL("none/", moduleUrl).href;
      viewer.ktx2TranscoderLocation = new URL("none/", moduleUrl).href;
      return module;
    });
    return loading;
  };
  // An element that was already in the page when the module defined it is upgraded
  // without its attributes reaching its properties (its src stays unset, so nothing
  // loads); setting each attribute again hands them over.
  const wake = () => {
    for (const element of document.querySelectorAll("model-viewer")) {
      if (element.src) continue;
      for (const { name, value } of [...element.attributes]) element.setAttribute(name, value);
    }
  };
  document$.subscribe(() => {
    if (document.querySelector("model-viewer")) load().then(wake);
  });
})();
