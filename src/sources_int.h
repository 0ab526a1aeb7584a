/* placeholder: internal interface of the source importers */
