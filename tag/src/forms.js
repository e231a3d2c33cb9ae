// Form submissions. Only the form's id, name, action path and number of
// fields are sent: no field value is ever read.
import { d, on, attr } from './env.js'
import { enqueue } from './queue.js'

const submit = (e) => {
  const f = e.target
  let n = 0
  let s = false
  for (const el of f.elements) {
    const t = el.type
    // A password or payment card field makes the form sensitive: its type,
    // autocomplete token, name or id says so (a false alarm only hides
    // the field count).
    s = s || /password|cc-|card|ccnum|cvc|cvv/i.test([t, el.autocomplete, el.name, el.id])
    // Fields are what a user fills in: not submit, button, reset, image,
    // hidden, fieldset or output.
    if (t && !/^(su|bu|re|im|h|fie|o)/.test(t)) n++
  }
  enqueue({
    type: 'form_submit',
    // Attributes: form.id and form.action may be fields named id or action.
    form_id: attr(f, 'id') || '',
    form_name: attr(f, 'name') || '',
    form_action: new URL(attr(f, 'action') || '', d.baseURI).pathname,
    // A sensitive form says nothing about its fields, not even how many.
    [s ? 'sensitive' : 'field_count']: s || n,
  })
}

export const forms = () => on(d, 'submit', submit)
