"""Put text on the user's clipboard from the kernel: a tiny invisible anywidget.

``Clipboard.copy(text)`` sends the text to every view of the widget as a custom message; the
browser writes it with ``navigator.clipboard.writeText`` (``document.execCommand("copy")`` on
a hidden text area where that API is missing, e.g. a page served over plain http from
another host) and answers whether it worked. The answer arrives later, on the kernel's
event loop, and is passed to the callback given to ``copy``. A kernel-side caller cannot
wait for it: the answer is handled after the current callback returns.
"""

from __future__ import annotations

import threading

import anywidget

__all__ = ["Clipboard"]

_ESM = """
async function write(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try { await navigator.clipboard.writeText(text); return ""; }
    catch (err) { if (!document.execCommand) return String(err); }
  }
  // fallback: select a hidden text area and copy (needs a recent click on the page)
  const ta = document.createElement("textarea");
  ta.value = text;
  ta.setAttribute("readonly", "");
  ta.style.position = "fixed"; ta.style.top = "0"; ta.style.opacity = "0";
  document.body.appendChild(ta);
  ta.select();
  let ok = false;
  try { ok = document.execCommand("copy"); } catch (err) { ok = false; }
  ta.remove();
  return ok ? "" : "the browser refused to copy";
}
function render({ model, el }) {
  el.style.display = "none";
  const onMsg = async (msg) => {
    if (!msg || msg.kind !== "copy") return;
    const error = await write(msg.text);
    model.send({ kind: "copied", id: msg.id, ok: !error, error: error });
  };
  model.on("msg:custom", onMsg);
  return () => model.off("msg:custom", onMsg);
}
export default { render };
"""


class Clipboard(anywidget.AnyWidget):
    """Invisible widget that copies text to the browser's clipboard (display it once).

    Attributes
    ----------
    last_text : the text of the last ``copy``
    last_result : ``(ok, error)`` of the last answer from the browser, None before one came
    """

    _esm = _ESM

    def __init__(self, **kw):
        super().__init__(**kw)
        self._lock = threading.Lock()
        self._n = 0
        self._pending: dict[int, object] = {}
        self.last_text = ""
        self.last_result = None
        self.add_class("kw-clipboard")
        self.on_msg(self._on_reply)

    def copy(self, text: str, callback=None) -> int:
        """Ask the browser to put ``text`` on the clipboard; returns the request's id.

        ``callback(ok, error)`` is called once, when the first view answers (several views of
        one Explorer each copy the same text; later answers are ignored). Without a view
        (the widget not displayed) nothing answers.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str; got {type(text).__name__}")
        with self._lock:
            self._n += 1
            n = self._n
            self._pending[n] = callback
            self.last_text = text
        self.send({"kind": "copy", "id": n, "text": text})
        return n

    def _on_reply(self, _widget, content, _buffers):
        if not isinstance(content, dict) or content.get("kind") != "copied":
            return
        with self._lock:
            if content.get("id") not in self._pending:
                return  # answered already (another view), or not ours
            callback = self._pending.pop(content["id"])
            self.last_result = (bool(content.get("ok")), str(content.get("error") or ""))
        if callback is not None:
            callback(*self.last_result)
