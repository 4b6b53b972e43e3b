// One figure of a report, with its label.

export function Tile(props: { id: string; label: string; value: string | number }) {
  return (
    <li class="tile" id={props.id}>
      <span class="tile-value">{props.value}</span>
      <span class="tile-label">{props.label}</span>
    </li>
  );
}
