//! Lists read a page at a time, each answer pointing at the next with
//! `Link: <…>; rel="next"` (RFC 8288).
//!
//! The `Link` parser is our own. `parse_link_header` splits a header at every comma, those inside
//! a URL included, strips all whitespace and quotes (so `rel="self next"` no longer holds
//! `next`), and fails the whole header on one malformed link; `http-link` follows the RFC but has
//! not been maintained since 2021. A next link lost to any of these would silently end a backup's
//! read of a list early.

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use url::Url;

use crate::{HttpClient, Response};
use iamsnap_provider::ProviderError;

/// Pages at least this large are decoded on the blocking pool ([`HttpClient::get_page`]).
const OFF_TASK_DECODE: usize = 64 * 1024;

/// One page of a list and where the next one is.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Url>,
}

impl Response {
    /// The `rel="next"` target of the `Link` headers, resolved against `url`.
    pub fn next_link(&self, url: &Url) -> Option<Url> {
        next_link(&self.headers).and_then(|href| url.join(&href).ok())
    }
}

impl HttpClient {
    /// `GET url` as one page of a JSON-array list paginated with `Link` headers.
    ///
    /// A large page is decoded on the blocking pool rather than on the task that asked for
    /// it: a connector reading many lists at once polls them all from one task, which would
    /// otherwise decode every page of the read in turn on a single core.
    pub async fn get_page<T: DeserializeOwned + Send + 'static>(
        &self,
        url: &Url,
    ) -> Result<Page<T>, ProviderError> {
        let response = self.send(Method::GET, url, None).await?;
        let next = response.next_link(url);
        let items: Option<Vec<T>> = if response.body.len() >= OFF_TASK_DECODE {
            let owned = url.clone();
            tokio::task::spawn_blocking(move || response.json(&owned))
                .await
                .map_err(|e| ProviderError::Decode {
                    url: iamsnap_provider::redact::scrubbed(url.as_str()),
                    message: format!("decoding the page failed: {e}"),
                })??
        } else {
            response.json(url)?
        };
        Ok(Page {
            items: items.unwrap_or_default(),
            next,
        })
    }
}

/// The target of the `rel="next"` link among all `Link` headers, if any.
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(split_links)
        .find(|(_, rels)| rels.split_whitespace().any(|r| r == "next"))
        .map(|(href, _)| href)
}

/// Splits one `Link` header value into `(href, rel)` pairs.
fn split_links(value: &str) -> Vec<(String, String)> {
    let mut links = Vec::new();
    let mut rest = value;
    while let Some(start) = rest.find('<') {
        let Some(end) = rest[start..].find('>') else {
            break;
        };
        let href = rest[start + 1..start + end].trim().to_string();
        rest = &rest[start + end + 1..];
        // Parameters run to the next link, which starts after a comma outside quotes.
        let params_end = rest.find('<').unwrap_or(rest.len());
        let params = &rest[..params_end];
        let rel = params
            .split(';')
            .filter_map(|p| p.trim().strip_prefix("rel="))
            .map(|r| {
                r.trim()
                    .trim_end_matches(',')
                    .trim()
                    .trim_matches('"')
                    .to_string()
            })
            .next()
            .unwrap_or_default();
        links.push((href, rel));
        rest = &rest[params_end..];
    }
    links
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::header_map as headers;

    #[test]
    fn finds_the_next_link_among_several() {
        let h = headers(&[
            (
                "link",
                "<https://api.example.com/api/v1/users?limit=200>; rel=\"self\"",
            ),
            (
                "link",
                "<https://api.example.com/api/v1/users?after=00u5&limit=200>; rel=\"next\"",
            ),
        ]);
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://api.example.com/api/v1/users?after=00u5&limit=200")
        );
        let joined = headers(&[(
            "link",
            "<https://a/1>; rel=\"self\", <https://a/2?after=x>; rel=\"next\"",
        )]);
        assert_eq!(next_link(&joined).as_deref(), Some("https://a/2?after=x"));
        assert_eq!(
            next_link(&headers(&[("link", "<https://a/1>; rel=\"self\"")])),
            None
        );
        assert_eq!(next_link(&HeaderMap::new()), None);
    }

    #[test]
    fn keeps_commas_inside_urls_and_reads_several_relations() {
        let h = headers(&[(
            "link",
            "<https://a/1?expand=stats,app>; rel=\"self\", <https://a/2?expand=stats,app&after=x>; rel=\"next last\"",
        )]);
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://a/2?expand=stats,app&after=x")
        );
    }
}
