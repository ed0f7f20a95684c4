//! The clock's controls both pages share: how often the page ticks and the speed select.

use web_sys::HtmlSelectElement;
use yew::prelude::*;

/// How often the page moves the virtual clock while playing, in real milliseconds.
pub(crate) const TICK_MS: u32 = 250;

/// Speeds offered, as multiples of real time (tenths, so 0.1× is 1).
const SPEEDS: &[(u32, &str)] = &[
    (1, "0.1×"),
    (10, "1×"),
    (100, "10×"),
    (1000, "100×"),
    (10_000, "1000×"),
];

/// The speed select (`id`), bound to a speed in tenths of real time.
pub(crate) fn speed_picker(id: &'static str, speed_tenths: &UseStateHandle<u32>) -> Html {
    let on_speed = {
        let speed_tenths = speed_tenths.clone();
        Callback::from(move |e: Event| {
            let select: HtmlSelectElement = e.target_unchecked_into();
            if let Ok(v) = select.value().parse() {
                speed_tenths.set(v);
            }
        })
    };
    html! {
        <label>{"Speed "}
            <select {id} onchange={on_speed} aria-label="Speed">
                { for SPEEDS.iter().map(|(v, label)| html! {
                    <option value={v.to_string()} selected={*v == **speed_tenths}>{*label}</option>
                }) }
            </select>
        </label>
    }
}
