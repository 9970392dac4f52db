// A modal confirmation for an action that cannot be taken back (pause, refund): a `dialog` with
// a heading, what will happen, and the buttons Confirm and Cancel. Escape cancels; focus goes to
// Cancel first, so an Enter pressed by habit does not confirm.

import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';

export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  children: ComponentChildren;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const cancel = useRef<HTMLButtonElement>(null);
  const title_id = useId();
  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (props.open && !element.open) {
      element.showModal();
      cancel.current?.focus();
    } else if (!props.open && element.open) {
      element.close();
    }
  }, [props.open]);
  return (
    <dialog
      ref={dialog}
      class="confirm-dialog"
      aria-labelledby={title_id}
      onCancel={(event) => {
        event.preventDefault();
        props.onCancel();
      }}
    >
      <h2 id={title_id}>{props.title}</h2>
      <div>{props.children}</div>
      <div class="dialog-buttons">
        <button type="button" ref={cancel} class="button-quiet-outline" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="button" onClick={props.onConfirm}>
          Confirm
        </button>
      </div>
    </dialog>
  );
}
