import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { AnswerMarkdown, linkCitations } from "./Answer";

const cite = (number: number, url: string) => ({ number, chunk_id: `c${number}`, url, title: `Page ${number}`, snippet: "", image_src: "" });

describe("citation markers", () => {
  it("links markers that stand apart and have a citation, and leaves code subscripts alone", () => {
    const citations = [cite(1, "https://a.example/one"), cite(2, "https://a.example/two")];
    const text = "Use pair[1] and x[0][1]. Install it [1], then run it [2] or [3].";
    const out = linkCitations(text, citations);
    expect(out).toContain("pair[1] and x[0][1]");
    expect(out).toContain('[\\[1\\]](<https://a.example/one> "ragchat-citation-1")');
    expect(out).toContain('[\\[2\\]](<https://a.example/two> "ragchat-citation-2")');
    expect(out).toContain("or [3].");
  });

  it("renders linked markers with the cited page's title and never runs raw HTML", () => {
    render(<AnswerMarkdown text={'See [1]. <img src=x onerror="alert(1)">'} citations={[cite(1, "https://a.example/one")]} />);
    const link = screen.getByTestId("citation-link");
    expect(link).toHaveAttribute("href", "https://a.example/one");
    expect(link).toHaveAttribute("title", "Page 1");
    expect(link).toHaveAttribute("rel", "noopener noreferrer");
    expect(document.querySelector("img")).toBeNull();
  });
});
