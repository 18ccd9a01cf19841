// Mounts GraphiQL on the gateway's page. Loaded after React, ReactDOM and
// GraphiQL, all served by the gateway (no CDN); the page's
// <script id="graphiql-config"> carries the endpoint, the default headers and
// the example operations of operations/.
(function () {
  "use strict";

  var config = JSON.parse(
    document.getElementById("graphiql-config").textContent
  );
  var h = React.createElement;
  var editor = GraphiQL.React; // @graphiql/react: hooks into GraphiQL's state

  function load(context, example) {
    // Replaces the active tab's editors; GraphiQL keeps the tab in step.
    context.queryEditor.setValue(example.query);
    if (context.variableEditor) context.variableEditor.setValue(example.variables);
    if (context.headerEditor) context.headerEditor.setValue(example.headers);
    // The operation name follows the editor after a debounce; set it now so a
    // Run straight after the click runs this operation.
    if (context.setOperationName) context.setOperationName(example.name);
  }

  function ExamplesPanel() {
    var context = editor.useEditorContext({ nonNull: true });
    return h(
      "div",
      { className: "gateway-examples" },
      h("div", { className: "graphiql-doc-explorer-title" }, "Examples"),
      h(
        "p",
        null,
        "The front end's operations (operations/ in the repository). " +
          "Click one to load it into the current tab."
      ),
      config.examples.map(function (example) {
        return h(
          "button",
          {
            key: example.name,
            type: "button",
            className: "graphiql-button",
            "data-example": example.name,
            title: example.path,
            onClick: function () {
              load(context, example);
            },
          },
          example.kind + " " + example.name +
            (example.runnable ? "" : " (multipart upload: see the README)")
        );
      })
    );
  }

  var examplesPlugin = {
    title: "Examples",
    icon: function () {
      return h("span", { "aria-hidden": true, style: { fontWeight: 700 } }, "Ex");
    },
    content: ExamplesPanel,
  };

  var tabs = config.examples
    .filter(function (example) {
      return example.runnable;
    })
    .map(function (example) {
      return {
        query: example.query,
        variables: example.variables,
        headers: example.headers,
      };
    });

  ReactDOM.render(
    h(GraphiQL, {
      // Subscriptions over graphql-transport-ws on the same endpoint, with the
      // client GraphiQL bundles (nothing fetched from elsewhere); the tab's
      // headers (Authorization) become the connection_init payload.
      fetcher: GraphiQL.createFetcher({
        url: config.endpoint,
        subscriptionUrl:
          (location.protocol === "https:" ? "wss://" : "ws://") +
          location.host +
          config.endpoint,
      }),
      defaultTabs: tabs.length ? tabs : undefined,
      // GraphiQL 2 fills the first tab's query from defaultTabs but not its
      // variables and headers: hand those over as the initial values.
      variables: tabs.length ? tabs[0].variables : undefined,
      headers: tabs.length ? tabs[0].headers : undefined,
      defaultHeaders: config.headers,
      defaultEditorToolsVisibility: "variables",
      shouldPersistHeaders: false,
      plugins: [examplesPlugin],
      visiblePlugin: examplesPlugin,
    }),
    document.getElementById("graphiql")
  );
})();
