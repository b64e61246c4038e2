//! `GET /api/boards/{b}/thumbnail.svg`: a small picture of a board for the
//! boards list, each note a rectangle in its colour, scaled to fit.
//!
//! Why an SVG drawn here rather than by the list page: the list would
//! otherwise load every board's notes. The picture is cheap to revalidate:
//! its `ETag` is the board's `seq` (any change moves it), so an unchanged
//! board answers `304` after one indexed read of the board row. It is
//! member-only (`404` otherwise, like the board). No user text is ever
//! written into it: a note's text shows only as grey bars as long as its
//! first lines, so nothing needs escaping, and every number is computed
//! here (rounded, within the picture's own box).

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::core::{ApiError, Color, Note};
use crate::gateway::extract::PathParams;
use crate::gateway::HttpState;
use crate::service::Principal;

/// The picture's size in CSS pixels: 2.5:1, the shape of a card's preview on the boards list.
pub const WIDTH: f64 = 320.0;
/// See [`WIDTH`].
pub const HEIGHT: f64 = 128.0;
/// Space kept around the notes.
const PAD: f64 = 8.0;
/// Text lines drawn as bars per note.
const TEXT_LINES: usize = 3;
/// A line this many characters long (or longer) spans the note.
const FULL_LINE_CHARS: f64 = 28.0;
/// Bumped when the drawing changes, so cached pictures are redrawn.
const RENDER_VERSION: u32 = 1;

/// Answers the thumbnail, or `304 Not Modified` when `If-None-Match` holds its ETag.
///
/// # Errors
/// `not_found` for a board the caller is not a member of (or that does not exist).
pub async fn thumbnail(
    State(s): State<Arc<HttpState>>,
    p: Principal,
    PathParams(board): PathParams<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let cap = s.app.limits.thumbnail_notes;
    let seq = s.app.board(&p, &board).await?.seq;
    let etag = etag(seq, cap);
    if matches_etag(&headers, &etag) {
        return Ok(with_cache_headers(
            StatusCode::NOT_MODIFIED.into_response(),
            &etag,
        ));
    }
    let snap = s.app.snapshot(&p, &board).await?;
    // Drawn as of the snapshot's seq: a change in between gets its own tag.
    let etag = self::etag(snap.seq, cap);
    let cap = usize::try_from(cap).unwrap_or(usize::MAX);
    let svg = render(&snap.notes[..snap.notes.len().min(cap)]);
    let mut res = svg.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml"),
    );
    Ok(with_cache_headers(res, &etag))
}

/// The tag of the picture of a board at `seq` drawing at most `cap` notes.
fn etag(seq: u64, cap: u64) -> String {
    format!("\"t{RENDER_VERSION}-{cap}-{seq}\"")
}

/// Whether `If-None-Match` names `etag` (or `*`); weak tags compare equal.
fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag)
}

/// Private (it depends on who asks) and revalidated on every use (any change moves the tag).
fn with_cache_headers(mut res: Response, etag: &str) -> Response {
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    res
}

/// The fill of a note of `color` (the UI's light note colours).
fn fill(color: Color) -> &'static str {
    match color {
        Color::Yellow => "#fde68a",
        Color::Pink => "#fbcfe8",
        Color::Blue => "#bfdbfe",
        Color::Green => "#bbf7d0",
        Color::Purple => "#ddd6fe",
        Color::Gray => "#e7e5e4",
    }
}

/// The SVG of `notes`, in order (later ones on top), scaled to fit the picture.
pub fn render(notes: &[Note]) -> String {
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\">"
    );
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for n in notes {
        x0 = x0.min(n.x);
        y0 = y0.min(n.y);
        x1 = x1.max(n.x + n.w);
        y1 = y1.max(n.y + n.h);
    }
    if !notes.is_empty() && x1 > x0 && y1 > y0 && (x1 - x0).is_finite() && (y1 - y0).is_finite() {
        // Never enlarged beyond the board's own size: a single note stays note-sized.
        let scale = ((WIDTH - 2.0 * PAD) / (x1 - x0))
            .min((HEIGHT - 2.0 * PAD) / (y1 - y0))
            .min(1.0);
        let ox = (WIDTH - (x1 - x0) * scale) / 2.0;
        let oy = (HEIGHT - (y1 - y0) * scale) / 2.0;
        for n in notes {
            let (x, y) = (ox + (n.x - x0) * scale, oy + (n.y - y0) * scale);
            let (w, h) = ((n.w * scale).max(1.0), (n.h * scale).max(1.0));
            let _ = write!(
                out,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" rx=\"{r:.1}\" \
                 fill=\"{}\" stroke=\"#00000024\" stroke-width=\"0.5\"/>",
                fill(n.color),
                r = (w.min(h) * 0.06).min(3.0),
            );
            text_bars(&mut out, &n.text, x, y, w, h);
        }
    }
    out.push_str("</svg>");
    out
}

/// Up to [`TEXT_LINES`] grey bars for the first non-empty lines of `text`,
/// as long as those lines (never the text itself), when the note is big enough to show them.
fn text_bars(out: &mut String, text: &str, x: f64, y: f64, w: f64, h: f64) {
    let pad = (w * 0.1).max(1.5);
    let bar = (h * 0.08).clamp(1.0, 4.0);
    if w < 12.0 || h < 3.0 * bar + 2.0 * pad {
        return;
    }
    let lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    for (i, line) in lines.take(TEXT_LINES).enumerate() {
        let by = y + pad + i as f64 * bar * 2.0;
        if by + bar > y + h - pad * 0.5 {
            break;
        }
        let frac = (line.chars().count() as f64 / FULL_LINE_CHARS).min(1.0);
        let bw = ((w - 2.0 * pad) * frac).max(bar);
        let _ = write!(
            out,
            "<rect x=\"{:.1}\" y=\"{by:.1}\" width=\"{bw:.1}\" height=\"{bar:.1}\" rx=\"{:.1}\" \
             fill=\"#0000004d\"/>",
            x + pad,
            bar / 2.0,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Timestamp, User};

    fn note(x: f64, y: f64, color: Color, text: &str) -> Note {
        Note {
            id: format!("n{x}"),
            board: "b".into(),
            text: text.into(),
            x,
            y,
            w: 200.0,
            h: 140.0,
            color,
            version: 1,
            created_by: User {
                id: "u".into(),
                username: "ann".into(),
            },
            updated_at: Timestamp(0),
        }
    }

    #[test]
    fn each_note_is_a_rect_in_its_colour_within_the_picture_and_no_text_leaks() {
        let svg = render(&[
            note(
                -5000.0,
                0.0,
                Color::Pink,
                "<script>alert(1)</script>\nsecond & line",
            ),
            note(9000.0, 1e6, Color::Blue, "\"quoted\""),
        ]);
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"));
        assert!(svg.contains("#fbcfe8") && svg.contains("#bfdbfe"));
        for bad in ["script", "alert", "&", "quoted", "second"] {
            assert!(!svg.contains(bad), "{bad} leaked into {svg}");
        }
        // Every coordinate lies inside the picture.
        for part in svg.split(['"']).filter_map(|p| p.parse::<f64>().ok()) {
            assert!((0.0..=WIDTH).contains(&part), "{part} outside the picture");
        }
    }

    #[test]
    fn text_shows_as_bars_and_an_empty_board_as_an_empty_picture() {
        let one = render(&[note(0.0, 0.0, Color::Yellow, "hello\nworld")]);
        assert_eq!(one.matches("<rect").count(), 3, "{one}");
        let blank = render(&[note(0.0, 0.0, Color::Yellow, "")]);
        assert_eq!(blank.matches("<rect").count(), 1);
        assert!(!render(&[]).contains("<rect"));
    }

    #[test]
    fn if_none_match_accepts_lists_weak_tags_and_star() {
        let tag = etag(7, 500);
        let mut h = HeaderMap::new();
        assert!(!matches_etag(&h, &tag));
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"x\", W/\"t1-500-7\""),
        );
        assert!(matches_etag(&h, &tag));
        assert!(!matches_etag(&h, &etag(8, 500)));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(matches_etag(&h, &tag));
    }
}
